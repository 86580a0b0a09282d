import { Catalog } from '@herald/catalog';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { allowedTopics } from '../auth/access-policy';
import { CurrentPrincipal, RequireScope } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { page, PageQuery } from '../common.dto';
import { ApiDoc } from '../openapi/api-doc';
import { TOPIC_DETAIL_EXAMPLE, TOPIC_EXAMPLE, TopicDetailSchema, TopicSchema } from '../openapi/schemas';
import { CreateTopicDto, UpdateTopicDto } from './topic.dto';
import { TopicsService } from './topics.service';

@ApiTags('topics')
@Controller('v1/topics')
export class TopicsController {
  constructor(
    private readonly topics: TopicsService,
    private readonly catalog: Catalog,
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
  async create(
    @Body() dto: CreateTopicDto,
    @CurrentPrincipal() p: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { topic, created } = await this.topics.create(dto.name, dto, p);
    void reply.status(created ? 201 : 200);
    return this.topics.view(topic);
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
    return { items: result.items.map((t) => this.topics.view(t)), nextCursor: result.nextCursor };
  }

  @ApiDoc({
    summary: 'Get a topic with its subscription counts',
    type: TopicDetailSchema,
    example: TOPIC_DETAIL_EXAMPLE,
  })
  @Get(':name')
  @RequireScope('read', 'name')
  async get(@Param('name') name: string) {
    const topic = await this.topics.find(name);
    return {
      ...this.topics.view(topic),
      subscriptionCounts: await this.catalog.topics.subscriptionCounts(name),
    };
  }

  @ApiDoc({ summary: 'Change a topic', type: TopicSchema, example: TOPIC_EXAMPLE })
  @Patch(':name')
  @RequireScope('admin', 'name')
  async update(@Param('name') name: string, @Body() dto: UpdateTopicDto, @CurrentPrincipal() p: Principal) {
    return this.topics.view(await this.topics.update(name, dto, p));
  }

  @ApiDoc({ summary: 'Delete a topic, its subscriptions and their pending deliveries', status: 204 })
  @Delete(':name')
  @RequireScope('admin', 'name')
  @HttpCode(204)
  async remove(@Param('name') name: string, @CurrentPrincipal() p: Principal) {
    await this.topics.remove(name, p);
  }
}
