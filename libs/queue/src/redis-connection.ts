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
 * A client for BullMQ and Herald's own keys. `maxRetriesPerRequest: null` is what BullMQ workers need;
 * auto-pipelining batches the many small commands the delivery hot path issues in one tick.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableAutoPipelining: true,
    lazyConnect: false,
    ...options,
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
