import { Catalog } from '@herald/catalog';
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiPropertyOptional, ApiTags, IntersectionType } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { CurrentPrincipal, RequireScope } from '../auth/auth.decorators';
import { allowedTopics } from '../auth/access-policy';
import type { Principal } from '../auth/principal';
import { page, PageQuery } from '../common.dto';
import { notFound, validationFailed } from '../problem/problem';
import { Redelivery } from '../deliveries/redelivery';
import { DLQ_ID } from '../resource-ids';
import { ApiDoc } from '../openapi/api-doc';
import {
  DEAD_LETTER_DETAIL_EXAMPLE,
  DEAD_LETTER_EXAMPLE,
  DeadLetterDetailSchema,
  DeadLetterSchema,
  RedrivenSchema,
} from '../openapi/schemas';

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
@Controller('v1/dead-letters')
export class DeadLettersController {
  constructor(
    private readonly catalog: Catalog,
    private readonly redelivery: Redelivery,
  ) {}

  @ApiDoc({ summary: 'List dead letters', page: DeadLetterSchema, example: DEAD_LETTER_EXAMPLE })
  @Get()
  @RequireScope('read', 'list')
  async list(@Query() q: DeadLetterListQuery, @CurrentPrincipal() p: Principal) {
    return this.catalog.deadLetters.list(
      { topic: q.topic, subscriptionId: q.subscriptionId },
      page(q),
      allowedTopics(p),
    );
  }

  @ApiDoc({
    summary: 'Redrive every dead letter of a topic and/or subscription',
    status: 202,
    type: RedrivenSchema,
    example: { redriven: 12 },
  })
  @Post('redrive')
  @RequireScope('admin', 'list')
  @HttpCode(202)
  async redriveMany(@Body() body: DeadLetterFilter, @CurrentPrincipal() p: Principal) {
    if (!body.topic && !body.subscriptionId) {
      throw validationFailed([
        { field: 'topic', message: 'give a topic or a subscriptionId (or both) to redrive' },
      ]);
    }
    let redriven = 0;
    for (;;) {
      const page = await this.catalog.deadLetters.list(
        { topic: body.topic, subscriptionId: body.subscriptionId },
        { limit: 500 },
        allowedTopics(p),
      );
      if (page.items.length === 0) break;
      redriven += await this.redelivery.redrive(page.items);
    }
    return { redriven };
  }

  @ApiDoc({
    summary: 'Get a dead letter with its message and every attempt',
    type: DeadLetterDetailSchema,
    example: DEAD_LETTER_DETAIL_EXAMPLE,
  })
  @Get(':id')
  @RequireScope('read', 'dead-letter')
  async get(@Param('id') id: string) {
    const entry = DLQ_ID.test(id) ? await this.catalog.deadLetters.get(id) : null;
    if (!entry) throw notFound('Dead letter', id);
    return { ...entry.entry, message: entry.message, attempts: entry.attempts };
  }

  @ApiDoc({
    summary: 'Redrive one dead letter: delivered afresh with a new attempt budget',
    status: 202,
    type: RedrivenSchema,
    example: { redriven: 1 },
  })
  @Post(':id/redrive')
  @RequireScope('admin', 'dead-letter')
  @HttpCode(202)
  async redrive(@Param('id') id: string) {
    const found = DLQ_ID.test(id) ? await this.catalog.deadLetters.get(id) : null;
    if (!found) throw notFound('Dead letter', id);
    return { redriven: await this.redelivery.redrive([found.entry]) };
  }

  @ApiDoc({ summary: 'Delete a dead letter', status: 204 })
  @Delete(':id')
  @RequireScope('admin', 'dead-letter')
  @HttpCode(204)
  async remove(@Param('id') id: string) {
    if (!DLQ_ID.test(id) || !(await this.catalog.deadLetters.delete(id))) throw notFound('Dead letter', id);
  }
}
