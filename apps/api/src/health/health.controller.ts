import { Catalog } from '@herald/catalog';
import { QueueClient } from '@herald/queue';
import { REDIS } from '@herald/runtime';
import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type Redis from 'ioredis';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { Public } from '../auth/auth.decorators';
import { ApiDoc } from '../openapi/api-doc';
import { HealthSchema, ReadinessSchema } from '../openapi/schemas';

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

@ApiTags('operations')
@Controller()
export class HealthController {
  private readonly registry = new Registry();

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly catalog: Catalog,
    private readonly queues: QueueClient,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'herald_' });
    const client = this.queues;
    new Gauge({
      name: 'herald_queue_jobs',
      help: 'Jobs in each queue by state',
      labelNames: ['queue', 'state'],
      registers: [this.registry],
      async collect() {
        for (const q of client.allQueues()) {
          const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
          for (const [state, n] of Object.entries(counts)) this.set({ queue: q.name, state }, n);
        }
      },
    });
  }

  @ApiDoc({ summary: 'Liveness', type: HealthSchema, example: { status: 'ok' } })
  @Get('healthz')
  @Public()
  healthz() {
    return { status: 'ok' };
  }

  @ApiDoc({
    summary: 'Readiness: Redis and the catalog answer',
    type: ReadinessSchema,
    example: { status: 'ready', checks: { redis: 'ok', catalog: 'ok' } },
    also: [
      {
        status: 503,
        type: ReadinessSchema,
        example: {
          status: 'not ready',
          checks: { redis: 'ok', catalog: 'catalog did not answer in 2000 ms' },
        },
        description: 'Not ready: what failed.',
      },
    ],
  })
  @Get('readyz')
  @Public()
  async readyz(@Res() reply: FastifyReply) {
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
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  }

  @ApiDoc({
    summary: 'Prometheus metrics',
    text: { media: 'text/plain', example: 'herald_queue_jobs{queue="fanout",state="waiting"} 0' },
  })
  @Get('metrics')
  @Public()
  async metrics(@Res() reply: FastifyReply) {
    const body = await this.registry.metrics();
    return reply.status(200).type(this.registry.contentType).send(body);
  }
}
