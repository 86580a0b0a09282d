import { Catalog, ConflictError } from '@herald/catalog';
import { validateDeliveryPolicy, type DeliveryPolicyInput, type Topic } from '@herald/core';
import { ChangeNotifier } from '@herald/queue';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentPrincipal, RequireScope } from '../auth/auth.decorators';
import { allowedTopics } from '../auth/access-policy';
import type { Principal } from '../auth/principal';
import { page, PageQuery } from '../common.dto';
import { conflict, notFound, validationFailed } from '../problem/problem';
import { CreateTopicDto, TOPIC_NAME, UpdateTopicDto } from './topic.dto';
import { ApiDoc } from '../openapi/api-doc';
import { TOPIC_DETAIL_EXAMPLE, TOPIC_EXAMPLE, TopicDetailSchema, TopicSchema } from '../openapi/schemas';

export function topicView(t: Topic) {
  return {
    name: t.name,
    displayName: t.displayName,
    description: t.description,
    deliveryPolicy: t.deliveryPolicy,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
  };
}

function checkPolicy(policy: unknown): DeliveryPolicyInput | null | undefined {
  const errors = validateDeliveryPolicy(policy);
  if (errors.length > 0) throw validationFailed(errors);
  return policy as DeliveryPolicyInput | null | undefined;
}

@ApiTags('topics')
@Controller('v1/topics')
export class TopicsController {
  constructor(
    private readonly catalog: Catalog,
    private readonly changes: ChangeNotifier,
  ) {}

  @ApiDoc({
    summary: 'Create a topic (the same name and attributes again answer 200 with it)',
    status: 201,
    type: TopicSchema,
    example: TOPIC_EXAMPLE,
    also: [{ status: 200, type: TopicSchema, example: TOPIC_EXAMPLE, description: 'It existed already.' }],
    problems: [[409, 'A topic of that name exists with other attributes.']],
  })
  @Post()
  @RequireScope('admin', 'new-topic')
  async create(@Body() dto: CreateTopicDto, @Res({ passthrough: true }) reply: FastifyReply) {
    try {
      const { topic, created } = await this.catalog.topics.create({
        name: dto.name,
        displayName: dto.displayName ?? null,
        description: dto.description ?? null,
        deliveryPolicy: checkPolicy(dto.deliveryPolicy) ?? null,
      });
      void reply.status(created ? 201 : 200);
      return topicView(topic);
    } catch (err) {
      if (err instanceof ConflictError) throw conflict(`Topic "${dto.name}" exists with other attributes.`);
      throw err;
    }
  }

  @ApiDoc({
    summary: 'List topics (a topic-limited key sees its own)',
    page: TopicSchema,
    example: TOPIC_EXAMPLE,
  })
  @Get()
  @RequireScope('read', 'list')
  async list(@Query() q: PageQuery, @CurrentPrincipal() p: Principal) {
    const result = await this.catalog.topics.list(page(q), allowedTopics(p));
    return { items: result.items.map(topicView), nextCursor: result.nextCursor };
  }

  @ApiDoc({
    summary: 'Get a topic with its subscription counts',
    type: TopicDetailSchema,
    example: TOPIC_DETAIL_EXAMPLE,
  })
  @Get(':name')
  @RequireScope('read', 'name')
  async get(@Param('name') name: string) {
    const topic = await this.find(name);
    return { ...topicView(topic), subscriptionCounts: await this.catalog.topics.subscriptionCounts(name) };
  }

  @ApiDoc({ summary: 'Change a topic', type: TopicSchema, example: TOPIC_EXAMPLE })
  @Patch(':name')
  @RequireScope('admin', 'name')
  async update(@Param('name') name: string, @Body() dto: UpdateTopicDto) {
    await this.find(name);
    const patch: Partial<Pick<Topic, 'displayName' | 'description' | 'deliveryPolicy'>> = {};
    if (dto.displayName !== undefined) patch.displayName = dto.displayName;
    if (dto.description !== undefined) patch.description = dto.description;
    if (dto.deliveryPolicy !== undefined) patch.deliveryPolicy = checkPolicy(dto.deliveryPolicy) ?? null;
    const topic = await this.catalog.topics.update(name, patch);
    if (!topic) throw notFound('Topic', name);
    await this.changes.notify({ kind: 'topic', id: name });
    return topicView(topic);
  }

  @ApiDoc({ summary: 'Delete a topic, its subscriptions and their pending deliveries', status: 204 })
  @Delete(':name')
  @RequireScope('admin', 'name')
  @HttpCode(204)
  async remove(@Param('name') name: string) {
    const subs = TOPIC_NAME.test(name)
      ? await this.catalog.subscriptions.list(name, {}, { limit: 1000, cursor: null })
      : null;
    if (!(await this.catalog.topics.delete(name))) throw notFound('Topic', name);
    await this.changes.notify({ kind: 'topic', id: name });
    for (const s of subs?.items ?? [])
      await this.changes.notify({ kind: 'subscription', id: s.id, topic: name });
  }

  private async find(name: string): Promise<Topic> {
    const topic = TOPIC_NAME.test(name) ? await this.catalog.topics.get(name) : null;
    if (!topic) throw notFound('Topic', name);
    return topic;
  }
}
