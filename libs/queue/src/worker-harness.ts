import { DelayedError, Worker, type Job } from 'bullmq';
import type { RedisClient } from './redis-connection';
import { HERALD_BACKOFF } from './queue-client';
import type { QueueName } from './queue-names';

/** Thrown by a handler to have the job tried again after `delayMs` (this spends an attempt). */
export class RetryLater extends Error {
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
    this.name = 'RetryLater';
  }
}

/** What a handler sees of a BullMQ job. */
export interface JobHandle<T> {
  readonly id: string;
  readonly data: T;
  /** Attempts already made before this one. */
  readonly attemptsMade: number;
  updateData(data: T): Promise<void>;
  /** Puts the job back to wait `ms` without spending an attempt (throttles, paused receivers). */
  postpone(ms: number): Promise<never>;
}

export interface WorkerSettings {
  connection: RedisClient;
  prefix: string;
  concurrency: number;
  /** Lock held while a job runs; a job whose worker died runs again after it expires. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

/** Starts a BullMQ worker running `handler` for each job; a RetryLater sets the next delay. */
export function startWorker<T>(
  queue: QueueName,
  handler: (job: JobHandle<T>) => Promise<unknown>,
  settings: WorkerSettings,
): Worker<T> {
  const worker = new Worker<T>(
    queue,
    async (job: Job<T>, token?: string) => {
      const handle: JobHandle<T> = {
        id: job.id ?? '',
        data: job.data,
        attemptsMade: job.attemptsMade,
        updateData: (data) => job.updateData(data),
        postpone: async (ms) => {
          await job.moveToDelayed(Date.now() + Math.max(1, Math.round(ms)), token);
          throw new DelayedError();
        },
      };
      return handler(handle);
    },
    {
      connection: settings.connection,
      prefix: settings.prefix,
      concurrency: settings.concurrency,
      lockDuration: settings.lockDurationMs ?? 30_000,
      stalledInterval: settings.stalledIntervalMs ?? 30_000,
      maxStalledCount: 2,
      autorun: true,
      settings: {
        backoffStrategy: (_attemptsMade: number, type?: string, err?: Error) => {
          if (type !== HERALD_BACKOFF) return 1000;
          return err instanceof RetryLater ? err.delayMs : 1000;
        },
      },
    },
  );
  return worker;
}
