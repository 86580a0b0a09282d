import { Catalog, type DeliveryRecord, type Page } from '@herald/catalog';
import { DELIVERY_STATUSES, type DeliveryStatus } from '@herald/core';
import { IdempotencyKeyReusedError, MessageStore, Publisher, PublishUnavailableError } from '@herald/queue';
import { CatalogCache, FanoutService } from '@herald/delivery';
import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { allowedTopics } from '../auth/access-policy';
import { CurrentPrincipal, RequireScope } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { page, PageQuery } from '../common.dto';
import {
  badRequest,
  conflict,
  notFound,
  problem,
  ProblemException,
  validationFailed,
} from '../problem/problem';
import { MSG_ID, TOPIC_NAME } from '../resource-ids';
import { Redelivery } from '../deliveries/redelivery';
import { BatchPublishDto, PublishDto, ResendDto } from './message.dto';
import { parsePublish, type ParsedPublish } from './message-input';
import { ApiDoc } from '../openapi/api-doc';
import {
  BATCH_RESULT_MODELS,
  BATCH_RESULT_SCHEMA,
  DELIVERY_EXAMPLE,
  DeliverySchema,
  DryRunSchema,
  MESSAGE_EXAMPLE,
  MESSAGE_SUMMARY_EXAMPLE,
  MessageSchema,
  MessageSummarySchema,
  PUBLISH_EXAMPLE,
  PublishResultSchema,
  ResentSchema,
} from '../openapi/schemas';

export class DeliveryListQuery extends PageQuery {
  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES, {
    message: `must be one of ${DELIVERY_STATUSES.join(', ')}`,
  })
  status?: DeliveryStatus;
}

@ApiTags('messages')
@Controller('v1')
export class MessagesController {
  constructor(
    private readonly catalog: Catalog,
    private readonly publisher: Publisher,
    private readonly store: MessageStore,
    private readonly fanout: FanoutService,
    private readonly cache: CatalogCache,
    private readonly redelivery: Redelivery,
  ) {}

  /** From the cache (a publish costs no catalog read), which also serves known topics in a catalog outage. */
  private async requireTopic(name: string): Promise<void> {
    if (!TOPIC_NAME.test(name) || !(await this.cache.topic(name))) throw notFound('Topic', name);
  }

  private async publishOne(topic: string, input: ParsedPublish['input'], key: string | null) {
    try {
      return await this.publisher.publish(topic, input, key);
    } catch (err) {
      if (err instanceof IdempotencyKeyReusedError) {
        throw new ProblemException(
          422,
          `${err.message} It published message ${err.messageId}; use a new key for a new message.`,
        );
      }
      throw err;
    }
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
    return this.publishOne(name, parsed.value.input, headerKey ?? bodyKey ?? null);
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
    // Entries are published together (they share Redis round trips); one that repeats an earlier
    // entry's idempotency key waits for it, so the key binds one message.
    const byKey = new Map<string, Promise<unknown>>();
    const results = await Promise.all(
      messages.map(async (m, i) => {
        const parsed = parsePublish(m, `messages[${i}].`);
        if (!parsed.ok) return { error: problem(400, 'The message has invalid fields.', parsed.errors) };
        const key = parsed.value.idempotencyKey;
        const before = key ? byKey.get(key) : undefined;
        const publishing = (async () => {
          await before?.catch(() => undefined);
          try {
            return await this.publishOne(name, parsed.value.input, key);
          } catch (err) {
            if (err instanceof ProblemException) return { error: err.getResponse() };
            if (err instanceof PublishUnavailableError) return { error: problem(503, err.message) };
            throw err;
          }
        })();
        if (key) byKey.set(key, publishing);
        return publishing;
      }),
    );
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
    if (message) return message;
    // Accepted but not fanned out yet: the payload is in Redis, the catalog has no record so far.
    const payload = MSG_ID.test(id) ? await this.store.getPayload(id) : null;
    if (!payload) throw notFound('Message', id);
    return {
      id: payload.id,
      topic: payload.topic,
      subject: payload.subject,
      body: payload.body,
      bodyByProtocol: payload.bodyByProtocol,
      attributes: payload.attributes,
      publishedAt: payload.publishedAt,
      fannedOutAt: null,
      status: 'accepted',
      counts: { matched: 0, filteredOut: 0, delivered: 0, pending: 0, failed: 0, cancelled: 0 },
    };
  }

  @ApiDoc({
    summary: "List a topic's recent messages, newest first, with their status (once fanned out)",
    page: MessageSummarySchema,
    example: MESSAGE_SUMMARY_EXAMPLE,
  })
  @Get('topics/:name/messages')
  @RequireScope('read', 'name')
  async list(@Param('name') name: string, @Query() q: PageQuery, @CurrentPrincipal() p: Principal) {
    if (!TOPIC_NAME.test(name) || !(await this.catalog.topics.get(name))) throw notFound('Topic', name);
    const result = await this.catalog.messages.listByTopic(name, page(q), allowedTopics(p));
    // Pages stay small: the bodies are in GET /v1/messages/{id}.
    return {
      items: result.items.map(({ body: _body, bodyByProtocol: _byProtocol, ...summary }) => summary),
      nextCursor: result.nextCursor,
    };
  }

  @ApiDoc({
    summary: 'Deliver a message again (also a delivered one), to every subscription it reached or to one',
    status: 202,
    type: ResentSchema,
    example: { resent: 1 },
    problems: [[409, 'The message has not been fanned out yet; it is being delivered.']],
  })
  @Post('messages/:id/resend')
  @RequireScope('admin', 'message')
  @HttpCode(202)
  @ApiBody({ type: ResendDto, required: false })
  async resend(@Param('id') id: string, @Body() body: ResendDto) {
    const message = MSG_ID.test(id) ? await this.catalog.messages.get(id) : null;
    if (!message) {
      if (MSG_ID.test(id) && (await this.store.getPayload(id))) {
        throw conflict(`Message ${id} has not been fanned out yet; it is being delivered.`);
      }
      throw notFound('Message', id);
    }
    const deliveries: DeliveryRecord[] = [];
    for (let cursor: string | null = null; ;) {
      const got: Page<DeliveryRecord> = await this.catalog.deliveries.listByMessage(
        id,
        {},
        { limit: 1000, cursor },
      );
      deliveries.push(
        ...got.items.filter((d) => !body.subscriptionId || d.subscriptionId === body.subscriptionId),
      );
      cursor = got.nextCursor;
      if (!cursor) break;
    }
    if (body.subscriptionId && deliveries.length === 0) {
      throw notFound(`Delivery of message ${id} to subscription`, body.subscriptionId);
    }
    return { resent: await this.redelivery.resend(deliveries) };
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
