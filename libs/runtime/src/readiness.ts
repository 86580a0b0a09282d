import { Catalog } from '@herald/catalog';
import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { REDIS } from './tokens';

const CHECK_TIMEOUT_MS = 2000;

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) =>
      setTimeout(
        () => reject(new Error(`${what} did not answer in ${CHECK_TIMEOUT_MS} ms`)),
        CHECK_TIMEOUT_MS,
      ).unref(),
    ),
  ]);
}

export interface ReadinessReport {
  ready: boolean;
  body: { status: 'ready' | 'not ready'; checks: Record<string, string> };
}

/** `/readyz` of every process: Redis and the catalog answer within 2 s. */
@Injectable()
export class Readiness {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly catalog: Catalog,
  ) {}

  async check(): Promise<ReadinessReport> {
    const checks: Record<string, string> = {};
    await Promise.all([
      withTimeout(this.redis.ping(), 'redis').then(
        () => (checks.redis = 'ok'),
        (e: Error) => (checks.redis = e.message),
      ),
      withTimeout(this.catalog.ping(), 'catalog').then(
        () => (checks.catalog = 'ok'),
        (e: Error) => (checks.catalog = e.message),
      ),
    ]);
    const ready = Object.values(checks).every((v) => v === 'ok');
    return { ready, body: { status: ready ? 'ready' : 'not ready', checks } };
  }
}
