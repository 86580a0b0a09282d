import type { HeraldConfig } from '@herald/config';
import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';

/** One Redis server or a Redis Cluster: everything Herald does works on both. */
export type RedisClient = Redis | Cluster;

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

/** Where Herald's Redis is, for logs: the URL without password, or the cluster's seed nodes. */
export function describeRedis(config: Pick<HeraldConfig, 'redisUrl' | 'redisCluster'>): string {
  if (!config.redisCluster) return redactRedisUrl(config.redisUrl);
  return `cluster ${config.redisCluster.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
}

export const COMMAND_TIMEOUT_MS = 3000;

/**
 * The shared client options: while Redis is unreachable a command fails after one reconnection
 * attempt, and any command gets no more than `COMMAND_TIMEOUT_MS`, so a request that needs Redis is
 * answered 503 in time instead of hanging. Auto-pipelining batches the many small commands the hot
 * path issues in one tick.
 */
const SHARED: RedisOptions = {
  maxRetriesPerRequest: 1,
  commandTimeout: COMMAND_TIMEOUT_MS,
  enableAutoPipelining: true,
  lazyConnect: false,
};

/** The shared client for producers and Herald's own keys: one server (REDIS_URL) or a cluster. */
export function createRedisClient(
  config: Pick<HeraldConfig, 'redisUrl' | 'redisCluster'>,
  options: RedisOptions = {},
): RedisClient {
  const cluster = config.redisCluster;
  if (!cluster) return createRedis(config.redisUrl, options);
  const redisOptions: RedisOptions = {
    ...SHARED,
    ...(cluster.username ? { username: cluster.username } : {}),
    ...(cluster.password ? { password: cluster.password } : {}),
    ...(cluster.tls ? { tls: {} } : {}),
    ...options,
  };
  const clusterOptions: ClusterOptions = {
    redisOptions,
    enableAutoPipelining: redisOptions.enableAutoPipelining,
    // After a failover the new master answers MOVED; ioredis follows and refreshes its slot map.
    maxRedirections: 16,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 200,
    slotsRefreshTimeout: 2000,
    enableOfflineQueue: true,
  };
  return new Cluster(cluster.nodes, clusterOptions);
}

export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { ...SHARED, ...options });
}

/** Options for BullMQ workers' connections: they wait through outages (BullMQ requires it) and block. */
const WORKER: RedisOptions = {
  maxRetriesPerRequest: null,
  commandTimeout: undefined,
  enableAutoPipelining: false,
};

/** A connection of the same kind as `shared` for BullMQ workers (and other blocking readers). */
export function workerConnection(shared: RedisClient): RedisClient {
  if (shared instanceof Cluster) {
    return shared.duplicate(undefined, {
      redisOptions: { ...shared.options.redisOptions, ...WORKER },
      enableAutoPipelining: false,
    });
  }
  return shared.duplicate(WORKER);
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

/** Redis had forgotten the script a command named by its SHA. */
export function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}
