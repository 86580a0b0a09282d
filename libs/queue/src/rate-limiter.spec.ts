import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startRedis } from '../../../test/support/servers';
import { RateLimiter } from './rate-limiter';

describe('RateLimiter', () => {
  const prefix = `test-rl-${randomUUID()}:`;
  let redis: Redis;
  let limiter: RateLimiter;

  beforeAll(() => {
    redis = new Redis(inject('redisUrl'));
    limiter = new RateLimiter(redis, prefix);
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  /** Redis's clock in milliseconds: the script measures refill against it, not against ours. */
  async function redisNowMs(): Promise<number> {
    const [seconds, micros] = await redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  it('gives perSecond tokens at once, then asks to wait at most one refill interval', async () => {
    const waits = await Promise.all(Array.from({ length: 6 }, () => limiter.take('five', 5)));
    expect(waits.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    expect(waits[5]).toBeGreaterThan(0);
    expect(waits[5]).toBeLessThanOrEqual(200);
  });

  it('never hands out more than the capacity to a burst of concurrent takers', async () => {
    const waits = await Promise.all(Array.from({ length: 50 }, () => limiter.take('burst', 10)));
    expect(waits.filter((w) => w === 0)).toHaveLength(10);
    for (const w of waits.filter((w) => w !== 0)) expect(w).toBeLessThanOrEqual(100);
  });

  it('keeps separate buckets per key', async () => {
    expect(await limiter.take('a', 1)).toBe(0);
    expect(await limiter.take('a', 1)).toBeGreaterThan(0);
    expect(await limiter.take('b', 1)).toBe(0);
  });

  it('refills perSecond tokens per second, at millisecond precision', async () => {
    const key = 'refill';
    // An empty bucket whose last take was 500 ms ago (by Redis's clock) holds half a token at 1/s.
    await redis.hset(limiter.keyFor(key), 'tokens', 0, 'at', (await redisNowMs()) - 500);
    const wait = await limiter.take(key, 1);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(500);

    await redis.hset(limiter.keyFor(key), 'tokens', 0, 'at', (await redisNowMs()) - 1000);
    expect(await limiter.take(key, 1)).toBe(0);
  });

  it('never refills beyond the capacity, however long the bucket was idle', async () => {
    const key = 'idle';
    await redis.hset(limiter.keyFor(key), 'tokens', 0, 'at', (await redisNowMs()) - 3_600_000);
    const waits = await Promise.all(Array.from({ length: 4 }, () => limiter.take(key, 3)));
    expect(waits.filter((w) => w === 0)).toHaveLength(3);
  });

  it('gives a slower-than-one-per-second bucket one token', async () => {
    expect(await limiter.take('half', 0.5)).toBe(0);
    const wait = await limiter.take('half', 0.5);
    expect(wait).toBeGreaterThan(1000);
    expect(wait).toBeLessThanOrEqual(2000);
  });

  it('sets a TTL so that idle buckets vanish', async () => {
    await limiter.take('ttl', 5);
    const ttl = await redis.pttl(limiter.keyFor('ttl'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2000);
  });

  it('loads its script again when Redis has forgotten it', async () => {
    // On a Redis of its own: SCRIPT FLUSH on the shared one would make every other test's scripts
    // answer NOSCRIPT mid-run.
    const server = await startRedis();
    const own = new Redis(server.url);
    try {
      const forgetful = new RateLimiter(own, prefix);
      expect(await forgetful.take('flushed', 2)).toBe(0);
      expect(await cachedScripts(own)).toBeGreaterThan(0);
      await own.script('FLUSH');
      expect(await cachedScripts(own)).toBe(0);
      expect(await forgetful.take('flushed', 2)).toBe(0);
      expect(await forgetful.take('flushed', 2)).toBeGreaterThan(0);
    } finally {
      await own.quit();
      await server.stop();
    }
  });

  async function cachedScripts(client: Redis): Promise<number> {
    return Number(/number_of_cached_scripts:(\d+)/.exec(await client.info('memory'))?.[1]);
  }

  it('rejects a rate that is not a positive number', async () => {
    await expect(limiter.take('bad', 0)).rejects.toThrow(RangeError);
    await expect(limiter.take('bad', Number.NaN)).rejects.toThrow(RangeError);
  });
});
