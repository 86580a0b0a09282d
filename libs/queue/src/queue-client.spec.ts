import { randomBytes } from 'node:crypto';
import { deliveryIdFor, newId, newMessageId } from '@herald/core';
import type Redis from 'ioredis';
import { describe, expect, it } from 'vitest';
import { startRedis } from '../../../test/support/servers';
import type { FollowUp } from './queue-client';
import { QueueClient } from './queue-client';
import { deliveryQueueFor } from './queue-names';
import { catalogEventStreamKey } from './catalog-event-stream';
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
    // As the processes run it: transactions on the plain connection.
    const plain = createRedis(server.url);
    const queues = new QueueClient(redis, `{q${randomBytes(4).toString('hex')}}`, plain);
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
      plain.disconnect();
      await server.stop();
    }
  });
});

describe('QueueClient records', () => {
  /** How many times Redis ran `command` (INFO commandstats). */
  async function calls(redis: Redis, command: string): Promise<number> {
    const info = await redis.info('commandstats');
    return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
  }

  it('writes outcomes without jobs in one XADD, and with jobs in one MULTI, on the plain connection', async () => {
    // On a Redis of its own, so the command counts are this test's.
    const server = await startRedis();
    const redis = createRedis(server.url);
    const plain = createRedis(server.url, { connectionName: 'herald-plain' });
    const prefix = `{q${randomBytes(4).toString('hex')}}`;
    const queues = new QueueClient(redis, prefix, plain);
    try {
      await queues.ready();
      // BullMQ defined its scripts on the shared connection only: a pipeline on the plain one is light.
      expect(Object.keys(redis.scriptsSet).length).toBeGreaterThan(10);
      expect(Object.keys(plain.scriptsSet)).toEqual([]);

      const [multi, xadd] = [await calls(redis, 'multi'), await calls(redis, 'xadd')];
      const done = followUp();
      await queues.record(
        [{ type: 'cancelled', deliveryId: done.deliveryId, run: 1, reason: 'x' }],
        new Map(),
      );
      expect(await calls(redis, 'multi')).toBe(multi);
      expect(await calls(redis, 'xadd')).toBe(xadd + 1);
      const clients = await redis.client('LIST');
      expect(String(clients)).toMatch(/name=herald-plain .*cmd=xadd/);

      const retry = followUp();
      await queues.record(
        [{ type: 'cancelled', deliveryId: retry.deliveryId, run: 1, reason: 'y' }],
        new Map([['webhook', [retry]]]),
      );
      expect(await calls(redis, 'multi')).toBe(multi + 1);
      // The MULTI ran on the plain connection, which was given BullMQ's job-adding scripts only.
      expect(String(await redis.client('LIST'))).toMatch(/name=herald-plain .*cmd=exec/);
      const given = Object.keys(plain.scriptsSet);
      expect(given.length).toBeGreaterThan(0);
      expect(given.length).toBeLessThanOrEqual(4);
      expect(given.every((name) => /^add[A-Za-z]+Job:/.test(name))).toBe(true);
      expect(await redis.xlen(catalogEventStreamKey(prefix))).toBe(2);
      expect(await queues.queue(deliveryQueueFor('webhook')).getJob(retry.deliveryId)).toBeDefined();
    } finally {
      await queues.close();
      redis.disconnect();
      plain.disconnect();
      await server.stop();
    }
  });
});
