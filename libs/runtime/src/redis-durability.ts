import { Cluster, type Redis } from 'ioredis';
import type { Logger } from 'pino';

/** What at-least-once delivery needs from Redis, and why, for each setting that falls short. */
export function redisDurabilityWarnings(settings: {
  appendonly?: string;
  maxmemoryPolicy?: string;
}): string[] {
  const warnings: string[] = [];
  if (settings.appendonly !== undefined && settings.appendonly !== 'yes') {
    warnings.push(
      'Redis runs with appendonly no: a Redis restart loses the queued jobs and payloads of messages already answered 202, so at-least-once delivery needs appendonly yes',
    );
  }
  if (settings.maxmemoryPolicy !== undefined && settings.maxmemoryPolicy !== 'noeviction') {
    warnings.push(
      `Redis runs with maxmemory-policy ${settings.maxmemoryPolicy}: under memory pressure it evicts queued jobs and payloads of accepted messages, so at-least-once delivery needs maxmemory-policy noeviction`,
    );
  }
  return warnings;
}

async function configValue(redis: Redis, name: string): Promise<string | undefined> {
  const reply = (await redis.config('GET', name)) as unknown;
  return Array.isArray(reply) && typeof reply[1] === 'string' ? reply[1] : undefined;
}

/**
 * Logs one warning line per Redis setting that puts accepted messages at risk. A Redis that refuses
 * CONFIG (many managed ones do) gets one line saying what to check by hand.
 */
export async function warnAboutRedisDurability(redis: Redis | Cluster, logger: Logger): Promise<void> {
  let settings: { appendonly?: string; maxmemoryPolicy?: string };
  try {
    // On a cluster every master must be set so; the first that is not says so.
    const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
    settings = {};
    for (const node of nodes) {
      const appendonly = await configValue(node, 'appendonly');
      const maxmemoryPolicy = await configValue(node, 'maxmemory-policy');
      if (settings.appendonly === undefined || appendonly !== 'yes') settings.appendonly = appendonly;
      if (settings.maxmemoryPolicy === undefined || maxmemoryPolicy !== 'noeviction')
        settings.maxmemoryPolicy = maxmemoryPolicy;
    }
  } catch {
    logger.info(
      'could not read the Redis configuration (CONFIG GET refused); at-least-once delivery needs appendonly yes and maxmemory-policy noeviction',
    );
    return;
  }
  for (const warning of redisDurabilityWarnings(settings)) logger.warn(warning);
}
