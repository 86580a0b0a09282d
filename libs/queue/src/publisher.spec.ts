import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { MessageStore } from './message-store';
import { Publisher } from './publisher';
import { QueueClient } from './queue-client';
import { FANOUT_QUEUE } from './queue-names';

describe('Publisher', () => {
  let redis: Redis;
  let queues: QueueClient;
  let store: MessageStore;
  let publisher: Publisher;
  const prefix = `{p${randomBytes(4).toString('hex')}}`;
  const input = { body: { a: 1 }, subject: 'S', attributes: { k: 'v' }, bodyByProtocol: {} };

  beforeAll(() => {
    redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
    queues = new QueueClient(redis, prefix);
    store = new MessageStore(redis, prefix);
    publisher = new Publisher(store, queues);
  });
  afterAll(async () => {
    await queues.queue(FANOUT_QUEUE).obliterate({ force: true });
    await queues.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('stores the payload once and enqueues one fan-out job named after the message', async () => {
    const { messageId, duplicate } = await publisher.publish('orders', input);
    expect(duplicate).toBe(false);
    expect(await store.getPayload(messageId)).toMatchObject({
      id: messageId,
      topic: 'orders',
      body: { a: 1 },
    });
    const job = await queues.queue(FANOUT_QUEUE).getJob(messageId);
    expect(job?.data).toEqual({ messageId, topic: 'orders' });
  });

  it('returns the first id for a repeated idempotency key, per topic', async () => {
    const first = await publisher.publish('orders', input, 'key-1');
    const again = await publisher.publish('orders', { ...input, body: 'other' }, 'key-1');
    expect(again).toEqual({ messageId: first.messageId, duplicate: true });
    expect((await store.getPayload(first.messageId))?.body).toEqual({ a: 1 });
    const otherTopic = await publisher.publish('invoices', input, 'key-1');
    expect(otherTopic.messageId).not.toBe(first.messageId);
  });

  it('finishes a publish whose first attempt died between claiming the key and enqueueing', async () => {
    // What a crash right after the claim leaves behind: the key bound, no payload, no job.
    const orphan = 'msg_01JD00000000000000000000ZZ';
    expect(await store.claimIdempotencyKey('orders', 'key-crash', orphan)).toEqual({ state: 'new' });
    const retried = await publisher.publish('orders', input, 'key-crash');
    expect(retried.messageId).toBe(orphan);
    expect(await store.getPayload(orphan)).toMatchObject({ id: orphan });
    expect(await queues.queue(FANOUT_QUEUE).getJob(orphan)).toBeTruthy();
    expect(await publisher.publish('orders', input, 'key-crash')).toEqual({
      messageId: orphan,
      duplicate: true,
    });
  });
});
