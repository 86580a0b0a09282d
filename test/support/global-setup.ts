import type { TestProject } from 'vitest/node';
import { startPostgres, startRedis, type RunningServer } from './servers';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    postgresUrl: string;
  }
}

const running: RunningServer[] = [];

/** Gives every test file a Redis and a PostgreSQL: REDIS_URL / DATABASE_URL when set, else private servers. */
export async function setup(project: TestProject): Promise<void> {
  let redisUrl = process.env.REDIS_URL;
  if (!redisUrl) {
    const redis = await startRedis();
    running.push(redis);
    redisUrl = redis.url;
  }
  let postgresUrl = process.env.DATABASE_URL;
  if (!postgresUrl || !postgresUrl.startsWith('postgres')) {
    const pg = await startPostgres();
    running.push(pg);
    postgresUrl = pg.url;
  }
  project.provide('redisUrl', redisUrl);
  project.provide('postgresUrl', postgresUrl);
}

export async function teardown(): Promise<void> {
  await Promise.all(running.map((s) => s.stop()));
}
