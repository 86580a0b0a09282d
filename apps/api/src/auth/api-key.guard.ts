import type { Scope } from '@herald/core';
import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ProblemException } from '../problem/problem';
import { AccessPolicy, type TopicRule } from './access-policy';
import { PUBLIC_ROUTE, REQUIRED_SCOPE, TOPIC_RULE, type AuthedRequest } from './auth.decorators';
import { ApiKeyService } from './api-key.service';
import { bearerKey } from './bearer-key';
import { hasScope } from './principal';

/** Bearer API key on every /v1 route but the public ones; scopes checked here, topic limits by AccessPolicy. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyService,
    private readonly access: AccessPolicy,
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
    const rule = this.reflector.getAllAndOverride<TopicRule | undefined>(TOPIC_RULE, targets) ?? 'unlimited';
    await this.access.authorize(principal, rule, req);
    req.principal = principal;
    return true;
  }
}
