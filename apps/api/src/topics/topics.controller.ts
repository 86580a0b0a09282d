import { Catalog } from '@herald/catalog';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentPrincipal, RequireScope } from '../auth/auth.decorators';
import { canUseTopic, type Principal } from '../auth/principal';
import { page, PageQuery } from '../common.dto';
import { CreateTopicDto, UpdateTopicDto } from './topic.dto';
import { TopicsService } from './topics.service';

@ApiTags('topics')
@ApiBearerAuth()
@Controller('v1/topics')
export class TopicsController {
  constructor(
    private readonly topics: TopicsService,
    private readonly catalog: Catalog,
  ) {}

  @Post()
  @RequireScope('admin')
  async create(
    @Body() dto: CreateTopicDto,
    @CurrentPrincipal() p: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { topic, created } = await this.topics.create(dto.name, dto, p);
    void reply.status(created ? 201 : 200);
    return this.topics.view(topic);
  }

  @Get()
  @RequireScope('read')
  async list(@Query() q: PageQuery, @CurrentPrincipal() p: Principal) {
    const result = await this.catalog.topics.list(page(q));
    return {
      items: result.items.filter((t) => canUseTopic(p, t.name)).map((t) => this.topics.view(t)),
      nextCursor: result.nextCursor,
    };
  }

  @Get(':name')
  @RequireScope('read')
  async get(@Param('name') name: string) {
    const topic = await this.topics.find(name);
    return {
      ...this.topics.view(topic),
      subscriptionCounts: await this.catalog.topics.subscriptionCounts(name),
    };
  }

  @Patch(':name')
  @RequireScope('admin')
  async update(@Param('name') name: string, @Body() dto: UpdateTopicDto, @CurrentPrincipal() p: Principal) {
    return this.topics.view(await this.topics.update(name, dto, p));
  }

  @Delete(':name')
  @RequireScope('admin')
  @HttpCode(204)
  async remove(@Param('name') name: string, @CurrentPrincipal() p: Principal) {
    await this.topics.remove(name, p);
  }
}
