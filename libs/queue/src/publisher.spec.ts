import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MessageStore } from './message-store';
import { chunkDeliveries, Publisher, PublishUnavailableError, type PublishRoute } from './publisher';
import { QueueClient } from './queue-client';
import { deliveryQueueFor, FANOUT_QUEUE } from './queue-names';
import { createRedis } from './redis-connection';
import { Shards } from './shards';
import { startRedis } from '../../../test/support/servers';

describe('Publisher', () => {
  let redis: Redis;
  let shards: Shards;
  let queues: QueueClient;
  let store: MessageStore;
  let publisher: Publisher;
  const prefix = `{p${randomBytes(4).toString('hex')}}`;
  const input = { body: { a: 1 }, subject: 'S', attributes: { k: 'v' }, bodyByProtocol: {} };
  /** Topics whose name starts with "small" have two webhook subscriptions; others fan out in a job. */
  const router = async (topic: string): Promise<PublishRoute | null> =>
    topic.startsWith('small')
      ? { deliveries: new Map([['webhook', ['sub_A', 'sub_B']]]), matched: 2, filteredOut: 1 }
      : null;

  beforeAll(() => {
    redis = createRedis(inject('redisUrl'));
    shards = new Shards(redis, prefix);
    queues = shards.all[0].queues;
    store = new MessageStore(redis, shards);
    publisher = new Publisher(redis, store, shards, { router });
  });
  afterAll(async () => {
    await queues.queue(FANOUT_QUEUE).obliterate({ force: true });
    await queues.queue(deliveryQueueFor('webhook')).obliterate({ force: true });
    await queues.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('stores the payload once and enqueues one fan-out job named after the message (large topic)', async () => {
    const { messageId, duplicate } = await publisher.publish('orders', input);
    expect(duplicate).toBe(false);
    // Read from Redis itself, not from this process's memory.
    const raw = await redis.get(store.payloadKey(messageId));
    expect(JSON.parse(raw!)).toMatchObject({ id: messageId, topic: 'orders', body: { a: 1 } });
    const job = await queues.queue(FANOUT_QUEUE).getJob(messageId);
    expect(job?.data).toEqual({ messageId, topic: 'orders' });
  });

  it('fans a small topic out at publish: one batch job and the message record, in one commit', async () => {
    const before = await redis.xlen(`${prefix}:catalog-events`);
    const results = await Promise.all(
      Array.from({ length: 5 }, () => publisher.publish('small-orders', input)),
    );
    const ids = results.map((r) => r.messageId);
    const waiting = await queues.queue(deliveryQueueFor('webhook')).getWaiting();
    const items = waiting.flatMap((j) => (j.data as { items: Array<{ messageId: string }> }).items);
    expect(items.filter((i) => ids.includes(i.messageId))).toHaveLength(5);
    // Published in the same turn, so they shared one commit: one job, one stream entry.
    expect(
      waiting.filter((j) =>
        (j.data as { items: Array<{ messageId: string }> }).items.some((i) => ids.includes(i.messageId)),
      ),
    ).toHaveLength(1);
    expect(await redis.xlen(`${prefix}:catalog-events`)).toBe(before + 1);
    const [[, fields]] = await redis.xrevrange(`${prefix}:catalog-events`, '+', '-', 'COUNT', 1);
    const events = JSON.parse(fields[1]) as Array<{
      message: { id: string };
      matched: number;
      deliveries: unknown[];
    }>;
    expect(events.map((e) => e.message.id).sort()).toEqual([...ids].sort());
    expect(events[0]).toMatchObject({
      matched: 2,
      filteredOut: 1,
      deliveries: [
        { subscriptionId: 'sub_A', protocol: 'webhook' },
        { subscriptionId: 'sub_B', protocol: 'webhook' },
      ],
    });
  });

  it('returns the first id for a repeated idempotency key, per topic; another request under it is refused', async () => {
    const first = await publisher.publish('orders', input, 'key-1');
    const again = await publisher.publish('orders', { ...input, attributes: { k: 'v' } }, 'key-1');
    expect(again).toEqual({ messageId: first.messageId, duplicate: true });
    await expect(publisher.publish('orders', { ...input, body: 'other' }, 'key-1')).rejects.toMatchObject({
      name: 'IdempotencyKeyReusedError',
      messageId: first.messageId,
    });
    const otherTopic = await publisher.publish('invoices', input, 'key-1');
    expect(otherTopic.messageId).not.toBe(first.messageId);
  });

  it('finishes a publish whose first attempt died between claiming the key and committing', async () => {
    // What a crash right after the claim leaves behind: the key bound, no payload, no job.
    const orphan = 'msg_01JD00000000000000000000ZZ';
    expect(await store.claimIdempotencyKey('orders', 'key-crash', orphan)).toEqual({ state: 'new' });
    let published = 0;
    const counted = new Publisher(redis, store, shards, {
      router,
      counter: { published: (n) => (published += n) },
    });
    const retried = await counted.publish('orders', input, 'key-crash');
    expect(retried).toEqual({ messageId: orphan, duplicate: true });
    // Nothing was published before: this is the message's publish, and the metric counts it.
    expect(published).toBe(1);
    expect(await redis.exists(store.payloadKey(orphan))).toBe(1);
    const waiting = await queues.queue(FANOUT_QUEUE).getWaiting();
    expect(waiting.filter((j) => (j.data as { messageId?: string }).messageId === orphan)).toHaveLength(1);
    expect(await counted.publish('orders', input, 'key-crash')).toEqual({
      messageId: orphan,
      duplicate: true,
    });
    expect(published).toBe(1);
  });

  it('finishes a keyed publish whose first commit Redis ran too late (its job ids left as tombstones)', async () => {
    // What a late commit leaves behind: the key bound to the message, its fan-out job id a tombstone.
    const refused = 'msg_01JD00000000000000000000YY';
    expect(await store.claimIdempotencyKey('orders', 'key-late', refused)).toEqual({ state: 'new' });
    const fanout = queues.queue(FANOUT_QUEUE);
    await redis.hset(fanout.toKey(refused), 'withdrawn', '1');
    const retried = await publisher.publish('orders', input, 'key-late');
    expect(retried.messageId).toBe(refused);
    const waiting = await fanout.getWaiting();
    expect(waiting.filter((j) => (j.data as { messageId?: string }).messageId === refused)).toHaveLength(1);
  });

  it('refuses at once, and commits nothing, while Redis is unreachable', async () => {
    const down = createRedis('redis://127.0.0.1:1', { retryStrategy: () => 1000, lazyConnect: true });
    down.on('error', () => undefined);
    const downShards = new Shards(down, prefix);
    const offline = new Publisher(down, new MessageStore(down, downShards), downShards, { router });
    const started = Date.now();
    await expect(offline.publish('small-orders', input)).rejects.toBeInstanceOf(PublishUnavailableError);
    expect(Date.now() - started).toBeLessThan(1000);
    down.disconnect();
  });

  it('applies nothing when Redis runs the commit after its deadline, however late it arrives', async () => {
    // A second client on which Redis is made to stall (CLIENT PAUSE) past the publish timeout.
    const slow = createRedis(inject('redisUrl'));
    const slowShards = new Shards(slow, prefix);
    const slowQueues = slowShards.all[0].queues;
    const late = new Publisher(slow, new MessageStore(slow, slowShards), slowShards, {
      router,
      timeoutMs: 600,
    });
    const admin = new Redis(inject('redisUrl'));
    const waitingBefore = await queues.queue(deliveryQueueFor('webhook')).getWaitingCount();
    await slowQueues.ready();
    await admin.client('PAUSE', 1500, 'WRITE');
    const refused = late.publish('small-orders', input).then(
      () => null,
      (err: unknown) => err,
    );
    const err = await refused;
    expect(err).toBeInstanceOf(PublishUnavailableError);
    // Once Redis runs the queued commit, it must find the deadline passed and add nothing.
    await admin.client('UNPAUSE');
    await slow.ping();
    expect(await queues.queue(deliveryQueueFor('webhook')).getWaitingCount()).toBe(waitingBefore);
    admin.disconnect();
    await slowQueues.close();
    slow.disconnect();
  });
});

describe('Publisher, when Redis forgets its scripts', () => {
  it('publishes on after SCRIPT FLUSH: the refused commit loads the scripts again and is retried', async () => {
    // On a Redis of its own: a flush on the shared one would refuse other tests' transactions.
    const server = await startRedis();
    const redis = createRedis(server.url);
    const shards = new Shards(redis, `{f${randomBytes(4).toString('hex')}}`);
    const store = new MessageStore(redis, shards);
    const router = async (topic: string): Promise<PublishRoute | null> =>
      topic === 'small'
        ? { deliveries: new Map([['webhook', ['sub_A']]]), matched: 1, filteredOut: 0 }
        : null;
    const publisher = new Publisher(redis, store, shards, { router });
    const queues = shards.all[0].queues;
    try {
      await publisher.publish('small', input());
      await publisher.publish('large', input());
      await redis.script('FLUSH');
      // Both kinds of commit: a batch job with the message record, and a fan-out job.
      const small = await publisher.publish('small', input());
      const large = await publisher.publish('large', input());
      expect(await redis.get(store.payloadKey(small.messageId))).not.toBeNull();
      expect((await queues.queue(FANOUT_QUEUE).getJob(large.messageId))?.data).toEqual({
        messageId: large.messageId,
        topic: 'large',
      });
      const waiting = await queues.queue(deliveryQueueFor('webhook')).getWaiting();
      const items = waiting.flatMap((j) => (j.data as { items: Array<{ messageId: string }> }).items);
      expect(items.map((i) => i.messageId)).toContain(small.messageId);
      // And the connection stays usable: the next commit goes through at the first try.
      await expect(publisher.publish('small', input())).resolves.toMatchObject({ duplicate: false });
    } finally {
      await queues.close();
      redis.disconnect();
      await server.stop();
    }
  });

  function input() {
    return { body: { a: 1 }, subject: 'S', attributes: {}, bodyByProtocol: {} };
  }
});

describe('chunkDeliveries', () => {
  it('splits message lists so no chunk holds more than the size', () => {
    const items = [
      { messageId: 'm1', subscriptionIds: ['a', 'b', 'c'] },
      { messageId: 'm2', subscriptionIds: ['d'] },
      { messageId: 'm3', subscriptionIds: ['e', 'f', 'g', 'h', 'i'] },
    ];
    expect(chunkDeliveries(items, 4)).toEqual([
      [
        { messageId: 'm1', subscriptionIds: ['a', 'b', 'c'] },
        { messageId: 'm2', subscriptionIds: ['d'] },
      ],
      [{ messageId: 'm3', subscriptionIds: ['e', 'f', 'g', 'h'] }],
      [{ messageId: 'm3', subscriptionIds: ['i'] }],
    ]);
  });
});
