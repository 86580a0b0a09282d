import { Catalog } from '@herald/catalog';
import { TestNotificationService } from '@herald/delivery';
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
import { ApiBody, ApiConsumes, ApiTags } from '@nestjs/swagger';
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
import { SubscriptionsService } from './subscriptions.service';
import { ApiDoc } from '../openapi/api-doc';
import {
  CREATED_SUBSCRIPTION_EXAMPLE,
  ConfirmationSentSchema,
  ConfirmedSubscriptionSchema,
  CreatedSubscriptionSchema,
  SecretSchema,
  SUBSCRIPTION_EXAMPLE,
  SubscriptionSchema,
  TEST_NOTIFICATION_EXAMPLE,
  TestNotificationSchema,
  UnsubscribedSchema,
} from '../openapi/schemas';

const wantsJson = (accept: string | undefined) =>
  !!accept && accept.includes('application/json') && !accept.includes('text/html');

@ApiTags('subscriptions')
@Controller('v1')
export class SubscriptionsController {
  constructor(
    private readonly subs: SubscriptionsService,
    private readonly catalog: Catalog,
    private readonly tests: TestNotificationService,
  ) {}

  @ApiDoc({
    summary: 'Subscribe an endpoint to a topic (the same endpoint again answers 200 with it)',
    status: 201,
    type: CreatedSubscriptionSchema,
    example: CREATED_SUBSCRIPTION_EXAMPLE,
    also: [
      {
        status: 200,
        type: SubscriptionSchema,
        example: SUBSCRIPTION_EXAMPLE,
        description: 'It existed already.',
      },
    ],
  })
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
      ? { ...this.subs.view(subscription), secret: subscription.secret }
      : this.subs.view(subscription);
  }

  @ApiDoc({
    summary: "List a topic's subscriptions",
    page: SubscriptionSchema,
    example: SUBSCRIPTION_EXAMPLE,
  })
  @Get('topics/:name/subscriptions')
  @RequireScope('read', 'name')
  async list(@Param('name') name: string, @Query() q: ListSubscriptionsQuery) {
    if (!TOPIC_NAME.test(name) || !(await this.catalog.topics.get(name))) throw notFound('Topic', name);
    const result = await this.catalog.subscriptions.list(
      name,
      { status: q.status, protocol: q.protocol },
      pageOf(q),
    );
    return { items: result.items.map((s) => this.subs.view(s)), nextCursor: result.nextCursor };
  }

  // Public routes first: "confirm" and "unsubscribe" must not be taken for ids.
  @ApiDoc({
    summary: 'Confirm a subscription from its confirmation link (no API key); again: 200 "already confirmed"',
    type: ConfirmedSubscriptionSchema,
    example: { ...SUBSCRIPTION_EXAMPLE, alreadyConfirmed: false },
    html: true,
    description:
      'Confirmed (or confirmed already by this link): a page, or the subscription with Accept: application/json.',
    problems: [[404, 'The token is unknown, expired or replaced.']],
  })
  @Get('subscriptions/confirm')
  @Public()
  async confirm(
    @Query() q: TokenQuery,
    @Headers('accept') accept: string | undefined,
    @Res() reply: FastifyReply,
  ) {
    const confirmed = await this.subs.confirm(q.token);
    if (!confirmed) throw notFound('A pending confirmation for this token');
    const { subscription: sub, alreadyConfirmed } = confirmed;
    if (wantsJson(accept)) return reply.status(200).send({ ...this.subs.view(sub), alreadyConfirmed });
    return reply
      .status(200)
      .type('text/html; charset=utf-8')
      .send(confirmedPage(sub.topic, alreadyConfirmed));
  }

  @ApiDoc({
    summary: 'The unsubscribe page of an email link: a button that POSTs; the GET changes nothing',
    html: true,
    json: false,
    problems: [[404, 'No subscription has this token.']],
  })
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
  @ApiDoc({
    summary: 'Unsubscribe (RFC 8058 one-click; no API key)',
    type: UnsubscribedSchema,
    example: { id: SUBSCRIPTION_EXAMPLE.id, status: 'unsubscribed' },
    html: true,
    description: 'Unsubscribed: a page, or the new status with Accept: application/json.',
    problems: [[404, 'No subscription has this token.']],
  })
  @ApiConsumes('application/x-www-form-urlencoded', 'multipart/form-data')
  @ApiBody({
    required: false,
    schema: { type: 'object', properties: { 'List-Unsubscribe': { type: 'string', enum: ['One-Click'] } } },
  })
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

  @ApiDoc({ summary: 'Get a subscription', type: SubscriptionSchema, example: SUBSCRIPTION_EXAMPLE })
  @Get('subscriptions/:id')
  @RequireScope('read', 'subscription')
  async get(@Param('id') id: string) {
    return this.subs.view(await this.subs.find(id));
  }

  @ApiDoc({
    summary: "Change a subscription's filter, delivery settings or status",
    type: SubscriptionSchema,
    example: SUBSCRIPTION_EXAMPLE,
    problems: [[409, 'The subscription cannot move to that status from the one it has.']],
  })
  @Patch('subscriptions/:id')
  @RequireScope('subscribe', 'subscription')
  @ApiBody({ type: UpdateSubscriptionDto })
  async update(@Param('id') id: string, @Body() raw: unknown) {
    const dto = await subscriptionBody(UpdateSubscriptionDto, raw);
    return this.subs.view(await this.subs.update(id, dto));
  }

  @ApiDoc({ summary: 'Delete a subscription', status: 204 })
  @Delete('subscriptions/:id')
  @RequireScope('subscribe', 'subscription')
  @HttpCode(204)
  async remove(@Param('id') id: string) {
    await this.subs.remove(id);
  }

  @ApiDoc({
    summary: 'Send the confirmation again (the old link stops working)',
    status: 202,
    type: ConfirmationSentSchema,
    example: { status: 'pending' },
    problems: [[409, 'The subscription is no longer pending.']],
  })
  @Post('subscriptions/:id/confirmation')
  @RequireScope('subscribe', 'subscription')
  @HttpCode(202)
  async resend(@Param('id') id: string) {
    await this.subs.resendConfirmation(id);
    return { status: 'pending' };
  }

  @ApiDoc({
    summary:
      'Send a signed test notification now (one attempt, not recorded) and answer what the receiver did',
    status: 202,
    type: TestNotificationSchema,
    example: TEST_NOTIFICATION_EXAMPLE,
  })
  @Post('subscriptions/:id/test')
  @RequireScope('subscribe', 'subscription')
  @HttpCode(202)
  async test(@Param('id') id: string) {
    return this.tests.send(await this.subs.find(id));
  }

  @ApiDoc({
    summary: 'Rotate the signing secret; the old one signs beside it for 24 h',
    type: SecretSchema,
    example: { secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
  })
  @Post('subscriptions/:id/secret/rotate')
  @RequireScope('subscribe', 'subscription')
  @HttpCode(200)
  async rotate(@Param('id') id: string) {
    return { secret: await this.subs.rotateSecret(id) };
  }
}
