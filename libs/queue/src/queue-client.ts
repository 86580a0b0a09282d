import { PROTOCOLS, type Protocol } from '@herald/core';
import { Queue, type JobsOptions } from 'bullmq';
import type Redis from 'ioredis';
import type { ConfirmationJob, FanoutJob, NotificationBatchJob, NotificationJob } from './jobs';
import { deliveryQueueFor, FANOUT_QUEUE, type QueueName } from './queue-names';

/** Workers decide when a delivery is exhausted (the policy may change while it waits), not BullMQ. */
const UNBOUNDED_ATTEMPTS = 10_000;
export const HERALD_BACKOFF = 'herald';

const deliveryJobOptions: JobsOptions = {
  attempts: UNBOUNDED_ATTEMPTS,
  backoff: { type: HERALD_BACKOFF },
  // Completed jobs are kept briefly so that a fan-out page replayed after a crash finds them and adds nothing.
  removeOnComplete: { age: 3600, count: 20_000 },
  // Failed jobs are anomalies (a delivery is dead-lettered and completed by the worker): keep them for the sweeper.
  removeOnFail: { age: 7 * 24 * 3600 },
};

const BULK_CHUNK = 1000;

/** Producer side of every queue. One instance per process, sharing one Redis connection. */
export class QueueClient {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
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

  async addFanout(job: FanoutJob): Promise<void> {
    await this.queue(FANOUT_QUEUE).add('fanout', job, {
      jobId: job.messageId,
      attempts: 25,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    });
  }

  /**
   * Adds notification jobs (each after its optional delay) in atomic chunks; job ids are deterministic,
   * so adding twice adds nothing.
   */
  async addNotifications(
    protocol: Protocol,
    jobs: Array<NotificationJob & { delayMs?: number }>,
  ): Promise<void> {
    const q = this.queue(deliveryQueueFor(protocol));
    for (let i = 0; i < jobs.length; i += BULK_CHUNK) {
      await q.addBulk(
        jobs.slice(i, i + BULK_CHUNK).map(({ delayMs, ...data }) => ({
          name: 'notify',
          data,
          opts: {
            ...deliveryJobOptions,
            jobId: notificationJobId(data),
            ...(delayMs ? { delay: Math.round(delayMs) } : {}),
          },
        })),
      );
    }
  }

  /** Adds batches of first attempts; `id` is deterministic so a replayed fan-out page adds nothing. */
  async addNotificationBatches(
    protocol: Protocol,
    batches: Array<{ id: string; job: NotificationBatchJob }>,
  ): Promise<void> {
    const q = this.queue(deliveryQueueFor(protocol));
    for (let i = 0; i < batches.length; i += BULK_CHUNK) {
      await q.addBulk(
        batches.slice(i, i + BULK_CHUNK).map(({ id, job }) => ({
          name: 'notify-batch',
          data: job,
          opts: { ...deliveryJobOptions, jobId: id },
        })),
      );
    }
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
  }
}

/** `dlv_…` for the first run, `dlv_…-r2` after a redrive, so a redriven delivery is a new job. */
export function notificationJobId(job: Pick<NotificationJob, 'deliveryId' | 'run'>): string {
  return job.run <= 1 ? job.deliveryId : `${job.deliveryId}-r${job.run}`;
}
