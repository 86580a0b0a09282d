import type { QueueClient } from './queue-client';
import type { QueueName } from './queue-names';

export interface FailedJob<T> {
  id: string;
  data: T;
  attemptsMade: number;
  failedReason: string;
}

/**
 * Hands every job in a queue's failed set to `handle`, then removes it. Herald's workers complete
 * dead-lettered jobs themselves, so a failed job is one BullMQ gave up on (stalled too often, or the
 * process died between steps): the sweeper makes sure it still ends as a dead letter.
 */
export async function sweepFailedJobs<T>(
  queues: QueueClient,
  name: QueueName,
  handle: (job: FailedJob<T>) => Promise<void>,
  batch = 200,
): Promise<number> {
  const queue = queues.queue(name);
  const jobs = await queue.getFailed(0, batch - 1);
  let swept = 0;
  for (const job of jobs) {
    if (!job?.id) continue;
    await handle({
      id: job.id,
      data: job.data as T,
      attemptsMade: job.attemptsMade,
      failedReason: job.failedReason ?? 'unknown',
    });
    await job.remove().catch(() => undefined);
    swept++;
  }
  return swept;
}
