import { Catalog } from '@herald/catalog';
import type { HeraldConfig } from '@herald/config';
import { PROTOCOLS, type Protocol } from '@herald/core';
import {
  CatalogRecorder,
  deliveryQueueFor,
  FANOUT_QUEUE,
  Shards,
  type RedisClient,
  type Shard,
  startWorker,
  sweepFailedJobs,
  workerConnection,
  type ConfirmationJob,
  type DeliveryJob,
  type JobHandle,
  type DeliveryBatchJob,
  type FanoutJob,
  type NotificationJob,
} from '@herald/queue';
import { HERALD_CONFIG, LOGGER, REDIS } from '@herald/runtime';
import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { Worker } from 'bullmq';
import type { Logger } from 'pino';
import { CatalogCache } from './catalog-cache';
import { ChannelRegistry } from './channel-registry';
import { ConfirmationService } from './confirmation.service';
import { deliveriesOf, DeliveryService } from './delivery.service';
import { FanoutService } from './fanout.service';

const SWEEP_INTERVAL_MS = 30_000;

/** Starts the fan-out and delivery workers, the catalog recorder and the failed-job sweeper; drains them on shutdown. */
@Injectable()
export class WorkerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private workers: Worker[] = [];
  private recorders: CatalogRecorder[] = [];
  private connections: RedisClient[] = [];
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> = Promise.resolve();

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(LOGGER) private readonly log: Logger,
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly catalog: Catalog,
    private readonly shards: Shards,
    private readonly fanout: FanoutService,
    private readonly delivery: DeliveryService,
    private readonly confirmations: ConfirmationService,
    private readonly cache: CatalogCache,
    private readonly channels: ChannelRegistry,
  ) {}

  /** The shards this process works on (HERALD_WORKER_SHARDS; all of them by default). */
  private mine(): Shard[] {
    return this.config.workerShards.map((i) => this.shards.all[i]).filter((s): s is Shard => s !== undefined);
  }

  private connection(): RedisClient {
    const c = workerConnection(this.redis);
    c.on('error', () => undefined);
    this.connections.push(c);
    return c;
  }

  async onApplicationBootstrap(): Promise<void> {
    const onError = (queue: string) => (err: Error) =>
      this.log.error({ queue, err: err.message }, 'queue worker error');
    // One connection for every worker of this process (BullMQ gives each its own blocking one).
    const connection = this.connection();
    for (const shard of this.mine()) {
      // A recorder per shard stream, each on its own connection: XREADGROUP blocks it.
      const recorder = new CatalogRecorder(
        this.connection(),
        shard.prefix,
        this.catalog,
        this.log,
        this.config.worker.lockDurationMs,
      );
      await recorder.start();
      this.recorders.push(recorder);
      const common = {
        connection,
        prefix: shard.prefix,
        lockDurationMs: this.config.worker.lockDurationMs,
        stalledIntervalMs: this.config.worker.stalledIntervalMs,
      };
      const fanoutWorker = startWorker<FanoutJob>(FANOUT_QUEUE, (job) => this.fanout.handle(job, shard), {
        ...common,
        concurrency: this.config.concurrency.fanout,
      });
      fanoutWorker.on('error', onError(FANOUT_QUEUE));
      this.workers.push(fanoutWorker);
      for (const protocol of PROTOCOLS) {
        const name = deliveryQueueFor(protocol);
        const worker = startWorker<DeliveryJob>(name, (job) => this.handleDelivery(job, shard, protocol), {
          ...common,
          concurrency: this.config.concurrency[protocol],
        });
        worker.on('error', onError(name));
        this.workers.push(worker);
      }
    }
    this.sweepTimer = setInterval(() => {
      this.sweeping = this.sweep().then(
        () => undefined,
        (err: unknown) => this.log.error({ err }, 'failed-job sweep could not finish; it runs again shortly'),
      );
    }, SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
    this.log.info({ queues: this.workers.length }, 'workers started');
  }

  private handleDelivery(job: JobHandle<DeliveryJob>, shard: Shard, protocol: Protocol): Promise<void> {
    if (job.data.kind === 'SubscriptionConfirmation')
      return this.confirmations.send(job as JobHandle<ConfirmationJob>);
    return this.delivery.handle(job as JobHandle<NotificationJob | DeliveryBatchJob>, shard, protocol);
  }

  /** Dead-letters what BullMQ gave up on, so no accepted delivery ends nowhere. */
  async sweep(): Promise<number> {
    let swept = 0;
    for (const shard of this.mine())
      for (const protocol of PROTOCOLS) {
        swept += await sweepFailedJobs<DeliveryJob>(shard.queues, deliveryQueueFor(protocol), async (job) => {
          if (job.data.kind === 'SubscriptionConfirmation') return;
          const { data } = job;
          const deliveries: NotificationJob[] = data.kind === 'DeliveryBatch' ? deliveriesOf(data) : [data];
          for (const delivery of deliveries) {
            await this.delivery.deadLetter(shard, {
              job: delivery,
              subscription: await this.cache.subscription(delivery.subscriptionId),
              attempts: (delivery.attemptsBefore ?? 0) + job.attemptsMade,
              reason: `delivery job failed: ${job.failedReason}`,
              lastError: job.failedReason,
              lastStatusCode: null,
            });
          }
        });
      }
    return swept;
  }

  /** Graceful drain: stop taking jobs, let running deliveries finish (their locks hand back the rest). */
  async beforeApplicationShutdown(): Promise<void> {
    this.log.info({ queues: this.workers.length }, 'draining workers: no new jobs, finishing running ones');
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.sweeping;
    await Promise.all(this.workers.map((w) => w.close()));
    this.workers = [];
    await Promise.all(this.recorders.map((r) => r.stop()));
    this.recorders = [];
    for (const c of this.connections) c.disconnect();
    this.connections = [];
    await this.channels.close();
  }
}
