import type { Scope } from '@herald/core';
import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ProblemException } from '../problem/problem';
import { PUBLIC_ROUTE, REQUIRED_SCOPE, type AuthedRequest } from './auth.decorators';
import { ApiKeyService } from './api-key.service';
import { bearerKey } from './bearer-key';
import { assertTopic, hasScope } from './principal';

/** Bearer API key on every /v1 route but the public ones; scope and topic limits checked here. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const key = bearerKey(req);
    if (!key) {
      throw new ProblemException(401, 'Send an API key as "Authorization: Bearer <key>".', undefined, {
        'www-authenticate': 'Bearer',
      });
    }
    const principal = await this.keys.resolve(key);
    if (!principal) {
      throw new ProblemException(401, 'The API key is not valid.', undefined, {
        'www-authenticate': 'Bearer',
      });
    }
    const scope = this.reflector.getAllAndOverride<Scope | null | undefined>(REQUIRED_SCOPE, targets);
    const required = scope === undefined ? 'admin' : scope;
    if (required !== null && !hasScope(principal, required)) {
      throw new ProblemException(403, `This API key lacks the "${required}" scope.`);
    }
    const params = req.params as Record<string, string> | undefined;
    if (params?.name !== undefined) assertTopic(principal, params.name);
    req.principal = principal;
    return true;
  }
}
