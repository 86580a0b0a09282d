import { Catalog } from '@herald/catalog';
import { DELIVERY_STATUSES, type DeliveryStatus } from '@herald/core';
import { MessageStore, Publisher } from '@herald/queue';
import { FanoutService } from '@herald/delivery';
import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { RequireScope } from '../auth/auth.decorators';
import { page, PageQuery } from '../common.dto';
import { badRequest, notFound, problem, validationFailed } from '../problem/problem';
import { MSG_ID, TOPIC_NAME } from '../resource-ids';
import { BatchPublishDto, PublishDto } from './message.dto';
import { parsePublish } from './message-input';
import { ApiDoc } from '../openapi/api-doc';
import {
  BATCH_RESULT_MODELS,
  BATCH_RESULT_SCHEMA,
  DELIVERY_EXAMPLE,
  DeliverySchema,
  DryRunSchema,
  MESSAGE_EXAMPLE,
  MessageSchema,
  PUBLISH_EXAMPLE,
  PublishResultSchema,
} from '../openapi/schemas';

export class DeliveryListQuery extends PageQuery {
  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES, {
    message: `must be one of ${DELIVERY_STATUSES.join(', ')}`,
  })
  status?: DeliveryStatus;
}

/**
 * accepted: not fanned out yet; delivering: deliveries still pending or retrying; delivered: every
 * matched delivery delivered (or cancelled); failed: done, with at least one dead letter.
 */
export function messageStatus(counts: {
  pending: number;
  failed: number;
}): 'delivering' | 'delivered' | 'failed' {
  if (counts.pending > 0) return 'delivering';
  return counts.failed > 0 ? 'failed' : 'delivered';
}
const TOPIC_CACHE_MS = 5000;

@ApiTags('messages')
@Controller('v1')
export class MessagesController {
  /** Topic existence, cached briefly: a publish should not cost a catalog read. */
  private readonly knownTopics = new Map<string, number>();

  constructor(
    private readonly catalog: Catalog,
    private readonly publisher: Publisher,
    private readonly store: MessageStore,
    private readonly fanout: FanoutService,
  ) {}

  private async requireTopic(name: string): Promise<void> {
    const until = this.knownTopics.get(name);
    if (until && until > Date.now()) return;
    if (!TOPIC_NAME.test(name) || !(await this.catalog.topics.get(name))) throw notFound('Topic', name);
    if (this.knownTopics.size > 10_000) this.knownTopics.clear();
    this.knownTopics.set(name, Date.now() + TOPIC_CACHE_MS);
  }

  @ApiDoc({ summary: 'Publish a message', status: 202, type: PublishResultSchema, example: PUBLISH_EXAMPLE })
  @ApiHeader({ name: 'idempotency-key', required: false, description: 'at most 128 characters; kept 24 h' })
  @Post('topics/:name/messages')
  @RequireScope('publish', 'name')
  @HttpCode(202)
  @ApiBody({ type: PublishDto })
  async publish(
    @Param('name') name: string,
    @Body() raw: unknown,
    @Headers('idempotency-key') headerKey?: string,
  ) {
    await this.requireTopic(name);
    const parsed = parsePublish(raw);
    if (!parsed.ok) throw validationFailed(parsed.errors);
    if (headerKey !== undefined && (headerKey.length === 0 || headerKey.length > 128)) {
      throw validationFailed([{ field: 'Idempotency-Key', message: 'must be 1 to 128 characters' }]);
    }
    const bodyKey = parsed.value.idempotencyKey;
    if (headerKey && bodyKey && headerKey !== bodyKey) {
      throw badRequest('The Idempotency-Key header and the idempotencyKey field differ.');
    }
    return this.publisher.publish(name, parsed.value.input, headerKey ?? bodyKey);
  }

  @ApiDoc({
    summary: 'Publish up to 100 messages; each entry answers on its own',
    schema: BATCH_RESULT_SCHEMA,
    models: BATCH_RESULT_MODELS,
    example: { results: [PUBLISH_EXAMPLE, { error: problem(400, 'The message has invalid fields.') }] },
  })
  @Post('topics/:name/messages/batch')
  @RequireScope('publish', 'name')
  @HttpCode(200)
  @ApiBody({ type: BatchPublishDto })
  async batch(@Param('name') name: string, @Body() raw: unknown) {
    await this.requireTopic(name);
    const messages = (raw as { messages?: unknown } | null)?.messages;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || !Array.isArray(messages)) {
      throw validationFailed([{ field: 'messages', message: 'must be an array of 1 to 100 messages' }]);
    }
    const extra = Object.keys(raw).filter((k) => k !== 'messages');
    if (extra.length > 0)
      throw validationFailed(extra.map((field) => ({ field, message: 'is not a known field' })));
    if (messages.length === 0 || messages.length > 100) {
      throw validationFailed([{ field: 'messages', message: 'must hold 1 to 100 messages' }]);
    }
    const results = [];
    for (const [i, m] of messages.entries()) {
      const parsed = parsePublish(m, `messages[${i}].`);
      if (!parsed.ok) {
        results.push({ error: problem(400, 'The message has invalid fields.', parsed.errors) });
        continue;
      }
      results.push(await this.publisher.publish(name, parsed.value.input, parsed.value.idempotencyKey));
    }
    return { results };
  }

  @ApiDoc({
    summary: 'Which active subscriptions a message would reach; nothing is sent',
    type: DryRunSchema,
    example: { matched: ['sub_01JH3Z8V9K2M4N6P8Q0R2S4T6V'], filteredOut: [] },
  })
  @Post('topics/:name/messages/dry-run')
  @RequireScope('publish', 'name')
  @HttpCode(200)
  @ApiBody({ type: PublishDto })
  async dryRun(@Param('name') name: string, @Body() raw: unknown) {
    await this.requireTopic(name);
    const parsed = parsePublish(raw);
    if (!parsed.ok) throw validationFailed(parsed.errors);
    return this.fanout.dryRun(name, parsed.value.input);
  }

  @ApiDoc({
    summary: 'Get a message with its status and counts',
    type: MessageSchema,
    example: MESSAGE_EXAMPLE,
  })
  @Get('messages/:id')
  @RequireScope('read', 'message')
  async get(@Param('id') id: string) {
    const message = MSG_ID.test(id) ? await this.catalog.messages.get(id) : null;
    if (message) {
      return { ...message, status: messageStatus(message.counts) };
    }
    // Accepted but not fanned out yet: the payload is in Redis, the catalog has no record so far.
    const payload = MSG_ID.test(id) ? await this.store.getPayload(id) : null;
    if (!payload) throw notFound('Message', id);
    return {
      id: payload.id,
      topic: payload.topic,
      subject: payload.subject,
      attributes: payload.attributes,
      publishedAt: payload.publishedAt,
      fannedOutAt: null,
      status: 'accepted',
      counts: { matched: 0, filteredOut: 0, delivered: 0, pending: 0, failed: 0, cancelled: 0 },
    };
  }

  @ApiDoc({ summary: "List a message's deliveries", page: DeliverySchema, example: DELIVERY_EXAMPLE })
  @Get('messages/:id/deliveries')
  @RequireScope('read', 'message')
  async deliveries(@Param('id') id: string, @Query() q: DeliveryListQuery) {
    if (!MSG_ID.test(id)) throw notFound('Message', id);
    const known = (await this.catalog.messages.get(id)) ?? (await this.store.getPayload(id));
    if (!known) throw notFound('Message', id);
    return this.catalog.deliveries.listByMessage(id, { status: q.status }, page(q));
  }
}
