import { Catalog, type RedrivenDeadLetter } from '@herald/catalog';
import type { Protocol } from '@herald/core';
import { QueueClient, type NotificationJob } from '@herald/queue';
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiPropertyOptional, ApiTags, IntersectionType } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { CurrentPrincipal, RequireScope } from '../auth/auth.decorators';
import { assertTopic, canUseTopic, type Principal } from '../auth/principal';
import { page, PageQuery } from '../common.dto';
import { notFound, validationFailed } from '../problem/problem';

const DLQ_ID = /^dlq_[0-9A-Z]{26}$/;

export class DeadLetterFilter {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,256}$/, { message: 'must be a topic name' })
  topic?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(100)
  subscriptionId?: string;
}

export class DeadLetterListQuery extends IntersectionType(PageQuery, DeadLetterFilter) {}

@ApiTags('dead letters')
@ApiBearerAuth()
@Controller('v1/dead-letters')
export class DeadLettersController {
  constructor(
    private readonly catalog: Catalog,
    private readonly queues: QueueClient,
  ) {}

  @Get()
  @RequireScope('read')
  async list(@Query() q: DeadLetterListQuery, @CurrentPrincipal() p: Principal) {
    if (q.topic) assertTopic(p, q.topic);
    const result = await this.catalog.deadLetters.list(
      { topic: q.topic, subscriptionId: q.subscriptionId },
      page(q),
    );
    return { items: result.items.filter((d) => canUseTopic(p, d.topic)), nextCursor: result.nextCursor };
  }

  @Post('redrive')
  @RequireScope('admin')
  @HttpCode(202)
  async redriveMany(@Body() body: DeadLetterFilter) {
    if (!body.topic && !body.subscriptionId) {
      throw validationFailed([
        { field: 'topic', message: 'give a topic or a subscriptionId (or both) to redrive' },
      ]);
    }
    let redriven = 0;
    for (;;) {
      const taken = await this.catalog.deadLetters.take({
        topic: body.topic,
        subscriptionId: body.subscriptionId,
        limit: 500,
      });
      if (taken.length === 0) break;
      await this.enqueue(taken);
      redriven += taken.length;
    }
    return { redriven };
  }

  @Get(':id')
  @RequireScope('read')
  async get(@Param('id') id: string, @CurrentPrincipal() p: Principal) {
    const entry = DLQ_ID.test(id) ? await this.catalog.deadLetters.get(id) : null;
    if (!entry) throw notFound(`Dead letter "${id}"`);
    assertTopic(p, entry.entry.topic);
    return { ...entry.entry, message: entry.message, attempts: entry.attempts };
  }

  @Post(':id/redrive')
  @RequireScope('admin')
  @HttpCode(202)
  async redrive(@Param('id') id: string) {
    const taken = DLQ_ID.test(id) ? await this.catalog.deadLetters.take({ ids: [id] }) : [];
    if (taken.length === 0) throw notFound(`Dead letter "${id}"`);
    await this.enqueue(taken);
    return { redriven: taken.length };
  }

  @Delete(':id')
  @RequireScope('admin')
  @HttpCode(204)
  async remove(@Param('id') id: string) {
    if (!DLQ_ID.test(id) || !(await this.catalog.deadLetters.delete(id)))
      throw notFound(`Dead letter "${id}"`);
  }

  /**
   * A redriven delivery is a new job (new run, new attempt budget); its history stays on the delivery.
   * The entries are taken first so the delivery's new run is recorded before any attempt of it can be.
   */
  private async enqueue(entries: RedrivenDeadLetter[]): Promise<void> {
    const byProtocol = new Map<Protocol, NotificationJob[]>();
    for (const e of entries) {
      const list = byProtocol.get(e.protocol) ?? [];
      list.push({
        kind: 'Notification',
        deliveryId: e.deliveryId,
        messageId: e.messageId,
        subscriptionId: e.subscriptionId,
        run: e.newRun,
      });
      byProtocol.set(e.protocol, list);
    }
    for (const [protocol, jobs] of byProtocol) await this.queues.addNotifications(protocol, jobs);
  }
}
