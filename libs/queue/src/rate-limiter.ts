import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { isNoScript } from './redis-connection';

/**
 * Token bucket in integer "milli-tokens" so that refill at millisecond precision never needs floats:
 * capacity = perSecond × 1000 (at least one token), each elapsed millisecond adds perSecond, a take costs 1000.
 * The clock is Redis's own (TIME), so every worker process shares one notion of now.
 * The key expires after it would have refilled completely, so an expired key is the same as a full bucket.
 */
const TAKE_SCRIPT = `
local rate = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local capacity = math.max(rate, 1) * 1000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
if tokens > capacity then tokens = capacity end
if now > at then
  tokens = math.min(capacity, tokens + (now - at) * rate)
  at = now
end
local wait = 0
if tokens >= 1000 then
  tokens = tokens - 1000
else
  wait = math.ceil((1000 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', at)
redis.call('PEXPIRE', KEYS[1], ttl)
return wait
`;

const TAKE_SHA = createHash('sha1').update(TAKE_SCRIPT).digest('hex');

/** Idle keys outlive a full refill by this margin, then vanish. */
const TTL_MARGIN_MS = 1_000;

/**
 * Shared token buckets in Redis (per SMS sender, per endpoint): BullMQ's own limiter is per queue only.
 * `take` is one atomic script, so any number of workers can draw from the same bucket.
 */
export class RateLimiter {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
  ) {}

  /**
   * Takes one token from the bucket `key` (capacity and refill `perSecond`). Resolves to 0 when a token
   * was taken, else to the milliseconds until one will be available (nothing is taken then).
   */
  /**
   * The Redis key of bucket `key`: the bucket is its own hash tag, so on a Redis Cluster buckets
   * spread over the masters instead of sharing one slot.
   */
  keyFor(key: string): string {
    return `${this.prefix}{${key}}`;
  }

  async take(key: string, perSecond: number): Promise<number> {
    if (!Number.isFinite(perSecond) || perSecond <= 0) {
      throw new RangeError(`perSecond must be a positive number (got ${perSecond})`);
    }
    const redisKey = this.keyFor(key);
    const ttlMs = Math.ceil((1000 * Math.max(perSecond, 1)) / perSecond) + TTL_MARGIN_MS;
    let reply: unknown;
    try {
      reply = await this.redis.evalsha(TAKE_SHA, 1, redisKey, perSecond, ttlMs);
    } catch (err) {
      // The script cache is empty after a Redis restart or on a fresh node: send the script itself once.
      if (!isNoScript(err)) throw err;
      reply = await this.redis.eval(TAKE_SCRIPT, 1, redisKey, perSecond, ttlMs);
    }
    const wait = Number(reply);
    if (!Number.isFinite(wait) || wait < 0) throw new Error(`rate limiter script answered ${String(reply)}`);
    return wait;
  }
}
