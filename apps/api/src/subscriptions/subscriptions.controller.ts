import { Catalog } from '@herald/catalog';
import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentPrincipal, Public, RequireScope } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { page as pageOf } from '../common.dto';
import { notFound } from '../problem/problem';
import { TOPIC_NAME } from '../topics/topic.dto';
import { confirmedPage, unsubscribedPage, unsubscribeFormPage } from './pages';
import {
  CreateSubscriptionDto,
  ListSubscriptionsQuery,
  TokenQuery,
  UpdateSubscriptionDto,
} from './subscription.dto';
import { subscriptionBody } from './subscription-body';
import { subscriptionView, SubscriptionsService } from './subscriptions.service';

const wantsJson = (accept: string | undefined) =>
  !!accept && accept.includes('application/json') && !accept.includes('text/html');

@ApiTags('subscriptions')
@ApiBearerAuth()
@Controller('v1')
export class SubscriptionsController {
  constructor(
    private readonly subs: SubscriptionsService,
    private readonly catalog: Catalog,
  ) {}

  @Post('topics/:name/subscriptions')
  @RequireScope('subscribe', 'name')
  @ApiBody({ type: CreateSubscriptionDto })
  async create(
    @Param('name') name: string,
    @Body() raw: unknown,
    @CurrentPrincipal() p: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const dto = await subscriptionBody(CreateSubscriptionDto, raw);
    const { subscription, created } = await this.subs.create(name, dto, p);
    void reply.status(created ? 201 : 200);
    return created && subscription.secret
      ? { ...subscriptionView(subscription), secret: subscription.secret }
      : subscriptionView(subscription);
  }

  @Get('topics/:name/subscriptions')
  @RequireScope('read', 'name')
  async list(@Param('name') name: string, @Query() q: ListSubscriptionsQuery) {
    if (!TOPIC_NAME.test(name) || !(await this.catalog.topics.get(name))) throw notFound('Topic', name);
    const result = await this.catalog.subscriptions.list(
      name,
      { status: q.status, protocol: q.protocol },
      pageOf(q),
    );
    return { items: result.items.map(subscriptionView), nextCursor: result.nextCursor };
  }

  // Public routes first: "confirm" and "unsubscribe" must not be taken for ids.
  @Get('subscriptions/confirm')
  @Public()
  async confirm(
    @Query() q: TokenQuery,
    @Headers('accept') accept: string | undefined,
    @Res() reply: FastifyReply,
  ) {
    const sub = await this.subs.confirm(q.token);
    if (!sub) throw notFound('A pending confirmation for this token');
    if (wantsJson(accept)) return reply.status(200).send(subscriptionView(sub));
    return reply.status(200).type('text/html; charset=utf-8').send(confirmedPage(sub.topic));
  }

  @Get('subscriptions/unsubscribe')
  @Public()
  async unsubscribePage(@Query() q: TokenQuery, @Res() reply: FastifyReply) {
    const sub = await this.subs.findByUnsubscribeToken(q.token);
    if (!sub) throw notFound('A subscription for this token');
    const action = `unsubscribe?token=${encodeURIComponent(q.token)}`;
    return reply
      .status(200)
      .type('text/html; charset=utf-8')
      .send(unsubscribeFormPage(sub.topic, sub.endpoint, action));
  }

  /** RFC 8058 one-click: mail clients POST `List-Unsubscribe=One-Click` as a form; any body is accepted. */
  @Post('subscriptions/unsubscribe')
  @Public()
  @HttpCode(200)
  async unsubscribe(
    @Query() q: TokenQuery,
    @Headers('accept') accept: string | undefined,
    @Res() reply: FastifyReply,
  ) {
    const sub = await this.subs.unsubscribe(q.token);
    if (!sub) throw notFound('A subscription for this token');
    if (wantsJson(accept)) return reply.status(200).send({ id: sub.id, status: sub.status });
    return reply.status(200).type('text/html; charset=utf-8').send(unsubscribedPage(sub.topic));
  }

  @Get('subscriptions/:id')
  @RequireScope('read', 'subscription')
  async get(@Param('id') id: string) {
    return subscriptionView(await this.subs.find(id));
  }

  @Patch('subscriptions/:id')
  @RequireScope('subscribe', 'subscription')
  @ApiBody({ type: UpdateSubscriptionDto })
  async update(@Param('id') id: string, @Body() raw: unknown) {
    const dto = await subscriptionBody(UpdateSubscriptionDto, raw);
    return subscriptionView(await this.subs.update(id, dto));
  }

  @Delete('subscriptions/:id')
  @RequireScope('subscribe', 'subscription')
  @HttpCode(204)
  async remove(@Param('id') id: string) {
    await this.subs.remove(id);
  }

  @Post('subscriptions/:id/confirmation')
  @RequireScope('subscribe', 'subscription')
  @HttpCode(202)
  async resend(@Param('id') id: string) {
    await this.subs.resendConfirmation(id);
    return { status: 'pending' };
  }

  @Post('subscriptions/:id/secret/rotate')
  @RequireScope('subscribe', 'subscription')
  @HttpCode(200)
  async rotate(@Param('id') id: string) {
    return { secret: await this.subs.rotateSecret(id) };
  }
}
