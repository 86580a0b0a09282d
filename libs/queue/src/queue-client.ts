import type { CatalogEvent } from '@herald/catalog';
import { PROTOCOLS, type Protocol } from '@herald/core';
import { createIORedisClient, Job, Queue, type IRedisTransaction, type JobsOptions } from 'bullmq';
import type Redis from 'ioredis';
import { Cluster, type ChainableCommander } from 'ioredis';
import { isNoScript, type RedisClient } from './redis-connection';
import { catalogEventStreamKey, encodeEvents } from './catalog-event-stream';
import type { ConfirmationJob, DeliveryBatchJob, NotificationJob } from './jobs';
import { deliveryQueueFor, FANOUT_QUEUE, type QueueName } from './queue-names';

/** Workers decide when a delivery is exhausted (the policy may change while it waits), not BullMQ. */
const UNBOUNDED_ATTEMPTS = 10_000;
export const HERALD_BACKOFF = 'herald';
/** Deliveries whose first attempts one job makes. */
export const DELIVERY_BATCH_SIZE = 100;

const KEEP_FAILED = { age: 7 * 24 * 3600 };

const deliveryJobOptions: JobsOptions = {
  attempts: UNBOUNDED_ATTEMPTS,
  backoff: { type: HERALD_BACKOFF },
  // Completed jobs are kept briefly so that a job added again after a crash (same id) adds nothing.
  removeOnComplete: { age: 3600, count: 20_000 },
  // Failed jobs are anomalies (a delivery is dead-lettered and completed by the worker): keep them for the sweeper.
  removeOnFail: KEEP_FAILED,
};

/**
 * Batches written at publish: their ids are new every time, so nothing needs the finished job;
 * removing it at once spares Redis the completed set and its trimming.
 */
export const BATCH_JOB_OPTIONS: JobsOptions = { ...deliveryJobOptions, removeOnComplete: true };

export const FANOUT_JOB_OPTIONS: JobsOptions = {
  attempts: 25,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: KEEP_FAILED,
};

const BULK_CHUNK = 1000;

/** A delivery to try again (or to send once a throttle allows), after `delayMs`. */
export type FollowUp = NotificationJob & { delayMs?: number };

/** A MULTI on the shared connection that BullMQ jobs can join (`job.addJob(tx)`). */
export type QueueTransaction = ChainableCommander & IRedisTransaction;

/** Producer side of every queue. One instance per process, sharing one Redis connection. */
export class QueueClient {
  private readonly queues = new Map<QueueName, Queue>();
  private readying: Promise<void> | null = null;
  private readonly scripts = new Map<string, string>();
  /** The plain connection once it holds BullMQ's job-adding scripts (see transactionClient). */
  private plainWithJobScripts: Redis | null = null;

  constructor(
    private readonly redis: RedisClient,
    readonly prefix: string,
    /** For what needs none of BullMQ's scripts: a pipeline on it is cheap to make (see REDIS_PLAIN). */
    private readonly plain: RedisClient = redis,
  ) {}

  queue(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.redis, prefix: this.prefix });
      q.on('error', () => undefined);
      this.queues.set(name, q);
    }
    return q;
  }

  allQueues(): Queue[] {
    const names: QueueName[] = [FANOUT_QUEUE, ...PROTOCOLS.map(deliveryQueueFor)];
    return names.map((n) => this.queue(n));
  }

  /** Resolves once BullMQ has loaded its scripts on the shared connection (jobs can join a MULTI). */
  async ready(): Promise<void> {
    this.readying ??= Promise.all(this.allQueues().map((q) => q.waitUntilReady())).then(() => undefined);
    try {
      await this.readying;
    } catch (err) {
      this.readying = null;
      throw err;
    }
  }

  /** A Lua script of Herald's that transactions offer as a command named `name`. */
  defineScript(name: string, lua: string): void {
    this.scripts.set(name, lua);
  }

  /**
   * A new MULTI that both Herald's commands and BullMQ's job inserts can join. Inside a MULTI, ioredis
   * sends a script by its SHA once it has sent it on that connection, and never falls back to EVAL:
   * when Redis has forgotten the scripts (SCRIPT FLUSH, or a Redis 7.4+ evicting them), every later
   * transaction would fail. So a transaction whose answer holds a NOSCRIPT loads every script the
   * connection knows again before it resolves (isNoScript tells the caller), and the next one works.
   */
  async transaction(): Promise<QueueTransaction> {
    await this.ready();
    const client = this.transactionClient(
      (await this.queue(FANOUT_QUEUE).getBackend().client) as unknown as Redis,
    );
    for (const [name, lua] of this.scripts) if (!(name in client)) client.defineCommand(name, { lua });
    const tx = createIORedisClient(client).multi() as unknown as QueueTransaction;
    const exec = tx.exec.bind(tx);
    tx.exec = (async () => {
      const results = await exec();
      if (results?.some(([err]) => isNoScript(err))) await reloadScripts(client);
      return results;
    }) as typeof tx.exec;
    return tx;
  }

  /** The connection transactions run on: a WAIT after one must go on it to count its writes. */
  get transactionConnection(): RedisClient {
    return this.plain;
  }

  /**
   * The connection transactions run on: the plain one (see REDIS_PLAIN), given only the scripts of
   * BullMQ's that adding a job runs (`job.addJob(tx)`), copied from the connection BullMQ set up. Each
   * MULTI then copies those few scripts instead of BullMQ's 65. Should a BullMQ release add a job
   * through another script, adding a job to a transaction fails at once, in every test that does.
   */
  private transactionClient(shared: Redis): Redis | Cluster {
    if (this.plainWithJobScripts) return this.plainWithJobScripts;
    const plain = this.plain as Redis;
    if (plain === this.redis || plain === shared) return shared;
    // Once: BullMQ defines its scripts when its queues are ready, which `transaction` waited for.
    for (const [name, script] of Object.entries(scriptsOf(shared)))
      if (JOB_SCRIPTS.test(name) && !(name in plain))
        plain.defineCommand(name, { lua: script.lua, numberOfKeys: script.numberOfKeys });
    this.plainWithJobScripts = plain;
    return plain;
  }

  /**
   * Adds notification jobs (each after its optional delay) in chunks; job ids are deterministic, so
   * adding twice adds nothing.
   */
  async addNotifications(protocol: Protocol, jobs: FollowUp[]): Promise<void> {
    const q = this.queue(deliveryQueueFor(protocol));
    for (let i = 0; i < jobs.length; i += BULK_CHUNK) {
      await q.addBulk(jobs.slice(i, i + BULK_CHUNK).map((job) => notificationEntry(job)));
    }
  }

  /** Adds batches of first attempts (a fan-out page); `id` is deterministic so a replayed page adds nothing. */
  async addDeliveryBatches(
    protocol: Protocol,
    batches: Array<{ id: string; job: DeliveryBatchJob }>,
  ): Promise<void> {
    const q = this.queue(deliveryQueueFor(protocol));
    for (let i = 0; i < batches.length; i += BULK_CHUNK) {
      await q.addBulk(
        batches.slice(i, i + BULK_CHUNK).map(({ id, job }) => ({
          name: 'deliver',
          data: job,
          opts: { ...deliveryJobOptions, jobId: id },
        })),
      );
    }
  }

  /**
   * Records outcome events and schedules the deliveries that must try again in one MULTI, so a
   * worker's batch costs Redis one round trip however many deliveries it made.
   */
  async record(
    events: readonly CatalogEvent[],
    followUps: ReadonlyMap<Protocol, readonly FollowUp[]>,
  ): Promise<void> {
    const jobs: Job[] = [];
    for (const [protocol, list] of followUps) {
      const q = this.queue(deliveryQueueFor(protocol));
      for (const followUp of list) {
        const { name, data, opts } = notificationEntry(followUp);
        jobs.push(new Job(q, name, data, opts, opts.jobId));
      }
    }
    if (events.length === 0 && jobs.length === 0) return;
    // Outcomes alone (every attempt of a batch delivered) are one XADD: no MULTI needed.
    if (jobs.length === 0) {
      await this.plain.xadd(catalogEventStreamKey(this.prefix), '*', 'e', encodeEvents(events));
      return;
    }
    const tx = await this.transaction();
    if (events.length > 0) tx.xadd(catalogEventStreamKey(this.prefix), '*', 'e', encodeEvents(events));
    for (const job of jobs) job.addJob(tx).catch(() => undefined);
    const results = await tx.exec();
    for (const [err] of results ?? []) if (err) throw err;
  }

  async addConfirmation(protocol: Protocol, job: ConfirmationJob): Promise<void> {
    await this.queue(deliveryQueueFor(protocol)).add('confirm', job, {
      ...deliveryJobOptions,
      jobId: job.sendId,
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
    this.readying = null;
  }
}

function notificationEntry({ delayMs, ...data }: FollowUp) {
  return {
    name: 'notify',
    data,
    opts: {
      ...deliveryJobOptions,
      jobId: notificationJobId(data),
      ...(delayMs ? { delay: Math.round(delayMs) } : {}),
    },
  };
}

/** `dlv_…` for the first run, `dlv_…-r2` after a redrive, so a redriven delivery is a new job. */
export function notificationJobId(job: Pick<NotificationJob, 'deliveryId' | 'run'>): string {
  return job.run <= 1 ? job.deliveryId : `${job.deliveryId}-r${job.run}`;
}

/** BullMQ's scripts that add a job (versioned names: `addStandardJob:6.7.0`). */
const JOB_SCRIPTS = /^add(Standard|Delayed|Prioritized|Parent)Job:/;

/** The scripts defined on a connection (ioredis keeps them by command name). */
function scriptsOf(client: Redis | Cluster): Record<string, { lua: string; numberOfKeys?: number }> {
  return (client as unknown as { scriptsSet: Record<string, { lua: string; numberOfKeys?: number }> })
    .scriptsSet;
}

/** Loads every script defined on `client` (Herald's and BullMQ's) into Redis again: on a cluster, into every master. */
async function reloadScripts(client: Redis | Cluster): Promise<void> {
  const scripts = Object.values(scriptsOf(client));
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  await Promise.all(
    nodes.map((node) => {
      const pipeline = node.pipeline();
      for (const { lua } of scripts) pipeline.script('LOAD', lua);
      return pipeline.exec();
    }),
  );
}
