import Redis, { type RedisOptions } from 'ioredis';

/** Describes a Redis URL without its password, for logs and error messages. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis://(invalid url)';
  }
}

/**
 * The shared client for producers and Herald's own keys. While Redis is unreachable its commands
 * fail after one reconnection attempt, and any command gets no more than `COMMAND_TIMEOUT_MS`, so a
 * request that needs Redis is answered 503 in time instead of hanging. Auto-pipelining batches the
 * many small commands the hot path issues in one tick.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    commandTimeout: COMMAND_TIMEOUT_MS,
    enableAutoPipelining: true,
    lazyConnect: false,
    ...options,
  });
}

export const COMMAND_TIMEOUT_MS = 3000;

/** A connection for BullMQ workers: they wait through outages (BullMQ requires it) and block on purpose. */
export function workerConnection(shared: Redis): Redis {
  return shared.duplicate({
    maxRetriesPerRequest: null,
    commandTimeout: undefined,
    enableAutoPipelining: false,
  });
}

/** Resolves when Redis answers PING, rejects after `timeoutMs` with a clear message. */
export async function pingRedis(url: string, timeoutMs = 2000): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } finally {
    client.disconnect();
  }
}
