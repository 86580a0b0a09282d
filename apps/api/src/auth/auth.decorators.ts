import type { Scope } from '@herald/core';
import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Principal } from './principal';

export const PUBLIC_ROUTE = 'herald:public';
export const REQUIRED_SCOPE = 'herald:scope';

/** No API key: confirmation, unsubscribe, provider callbacks, health. */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/** The scope a route needs (`admin` keys have every scope); null: any valid key. */
export const RequireScope = (scope: Scope | null) => SetMetadata(REQUIRED_SCOPE, scope);

export type AuthedRequest = FastifyRequest & { principal?: Principal };

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const req = ctx.switchToHttp().getRequest<AuthedRequest>();
  if (!req.principal) throw new Error('route has no principal: is it marked @Public()?');
  return req.principal;
});
