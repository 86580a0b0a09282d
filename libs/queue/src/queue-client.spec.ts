import { randomBytes } from 'node:crypto';
import { deliveryIdFor, newId, newMessageId } from '@herald/core';
import { describe, expect, it } from 'vitest';
import { startRedis } from '../../../test/support/servers';
import type { FollowUp } from './queue-client';
import { QueueClient } from './queue-client';
import { deliveryQueueFor } from './queue-names';
import { createRedis } from './redis-connection';

function followUp(): FollowUp {
  const messageId = newMessageId();
  const subscriptionId = newId('sub');
  return {
    kind: 'Notification',
    deliveryId: deliveryIdFor(messageId, subscriptionId),
    messageId,
    subscriptionId,
    run: 1,
    attemptsBefore: 1,
    delayMs: 60_000,
  };
}

describe('QueueClient transactions, when Redis forgets its scripts', () => {
  it("refuses the one transaction Redis answers NOSCRIPT, and the next one works (a worker's outcomes)", async () => {
    // On a Redis of its own: a flush on the shared one would refuse other tests' transactions.
    const server = await startRedis();
    const redis = createRedis(server.url);
    const queues = new QueueClient(redis, `{q${randomBytes(4).toString('hex')}}`);
    const retries = queues.queue(deliveryQueueFor('webhook'));
    try {
      const first = followUp();
      await queues.record([], new Map([['webhook', [first]]]));
      expect(await retries.getJob(first.deliveryId)).toBeDefined();

      await redis.script('FLUSH');
      const refused = followUp();
      await expect(queues.record([], new Map([['webhook', [refused]]]))).rejects.toThrow(/NOSCRIPT/);
      expect(await retries.getJob(refused.deliveryId)).toBeUndefined();

      // The refused transaction loaded the scripts again: the retry (BullMQ's, of the batch job) works.
      await queues.record([], new Map([['webhook', [refused]]]));
      expect((await retries.getJob(refused.deliveryId))?.data).toMatchObject({
        deliveryId: refused.deliveryId,
      });
    } finally {
      await queues.close();
      redis.disconnect();
      await server.stop();
    }
  });
});
