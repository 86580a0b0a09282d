import { HeraldMetrics, Readiness } from '@herald/runtime';
import { Controller, Get, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators';

/** Probe and scrape routes; worker-only processes serve the same answers on METRICS_PORT. */
@ApiTags('operations')
@Controller()
export class HealthController {
  constructor(
    private readonly readiness: Readiness,
    private readonly heraldMetrics: HeraldMetrics,
  ) {}

  @Get('healthz')
  @Public()
  healthz() {
    return { status: 'ok' };
  }

  @Get('readyz')
  @Public()
  async readyz(@Res() reply: FastifyReply) {
    const report = await this.readiness.check();
    return reply.status(report.ready ? 200 : 503).send(report.body);
  }

  @Get('metrics')
  @Public()
  async metrics(@Res() reply: FastifyReply) {
    const { contentType, body } = await this.heraldMetrics.exposition();
    return reply.status(200).type(contentType).send(body);
  }
}
