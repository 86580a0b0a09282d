import type { Scope } from '@herald/core';
import { applyDecorators, createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { TopicRule } from './access-policy';
import type { Principal } from './principal';

export const PUBLIC_ROUTE = 'herald:public';
export const REQUIRED_SCOPE = 'herald:scope';
export const TOPIC_RULE = 'herald:topic-rule';

/** No API key: confirmation, unsubscribe, provider callbacks, health. */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/**
 * The scope a route needs (`admin` keys have every scope; null: any valid key) and where it finds its
 * topic (see AccessPolicy). A route that names no topic rule is closed to topic-limited keys.
 */
export const RequireScope = (scope: Scope | null, topic: TopicRule = 'unlimited') =>
  applyDecorators(SetMetadata(REQUIRED_SCOPE, scope), SetMetadata(TOPIC_RULE, topic), ApiBearerAuth());

export type AuthedRequest = FastifyRequest & { principal?: Principal };

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const req = ctx.switchToHttp().getRequest<AuthedRequest>();
  if (!req.principal) throw new Error('route has no principal: is it marked @Public()?');
  return req.principal;
});
