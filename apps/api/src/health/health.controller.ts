import { HeraldMetrics, Readiness } from '@herald/runtime';
import { Controller, Get, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators';
import { ApiDoc } from '../openapi/api-doc';
import { HealthSchema, ReadinessSchema } from '../openapi/schemas';

/** Probe and scrape routes; worker-only processes serve the same answers on METRICS_PORT. */
@ApiTags('operations')
@Controller()
export class HealthController {
  constructor(
    private readonly readiness: Readiness,
    private readonly heraldMetrics: HeraldMetrics,
  ) {}

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
    const report = await this.readiness.check();
    return reply.status(report.ready ? 200 : 503).send(report.body);
  }

  @ApiDoc({
    summary: 'Prometheus metrics',
    text: { media: 'text/plain', example: 'herald_queue_jobs{queue="fanout",state="waiting"} 0' },
  })
  @Get('metrics')
  @Public()
  async metrics(@Res() reply: FastifyReply) {
    const { contentType, body } = await this.heraldMetrics.exposition();
    return reply.status(200).type(contentType).send(body);
  }
}
