import type { HeraldConfig } from '@herald/config';
import { pingRedis, redactRedisUrl } from '@herald/queue';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

export class RedisUnavailableError extends Error {}

/**
 * One-process mode needs only a Redis: use REDIS_URL (or redis://127.0.0.1:6379) when it answers; when
 * it does not and REDIS_URL was not set, start `redis-server` with its data (AOF) in <data>/redis.
 */
export async function ensureRedis(config: HeraldConfig, log: Logger): Promise<ChildProcess | null> {
  // A cluster is the operator's to run; its client reconnects by itself.
  if (config.redisCluster) return null;
  try {
    await pingRedis(config.redisUrl);
    return null;
  } catch {
    // Nothing answers: maybe start one.
  }
  const where = redactRedisUrl(config.redisUrl);
  if (!config.redisUrlDefaulted) {
    throw new RedisUnavailableError(
      `Redis at ${where} (REDIS_URL) does not answer. Start it, or fix REDIS_URL.`,
    );
  }
  if (spawnSync('sh', ['-c', 'command -v redis-server']).status !== 0) {
    throw new RedisUnavailableError(
      `No Redis answers at ${where} and redis-server is not installed. Install Redis (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis), run one with Docker (docker run -p 6379:6379 redis:7), or set REDIS_URL.`,
    );
  }
  const port = new URL(config.redisUrl).port || '6379';
  const dir = join(config.dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    'redis-server',
    [
      '--port',
      port,
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--maxmemory-policy',
      'noeviction',
      '--save',
      '',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null)
      throw new RedisUnavailableError(`redis-server exited with code ${child.exitCode}`);
    try {
      await pingRedis(config.redisUrl, 500);
      log.info({ redis: where, dir }, 'started a local redis-server for one-process mode');
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill('SIGTERM');
  throw new RedisUnavailableError('redis-server did not start within 10 s');
}
