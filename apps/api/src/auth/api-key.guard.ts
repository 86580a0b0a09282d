import type { Scope } from '@herald/core';
import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ProblemException } from '../problem/problem';
import { AccessPolicy, type TopicRule } from './access-policy';
import { PUBLIC_ROUTE, REQUIRED_SCOPE, TOPIC_RULE, type AuthedRequest } from './auth.decorators';
import { ApiKeyService } from './api-key.service';
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
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) {
      throw new ProblemException(401, 'Send an API key as "Authorization: Bearer <key>".', undefined, {
        'www-authenticate': 'Bearer',
      });
    }
    const principal = await this.keys.resolve(match[1]);
    if (!principal) {
      throw new ProblemException(401, 'The API key is not valid.', undefined, {
        'www-authenticate': 'Bearer',
      });
    }
    const scope = this.reflector.getAllAndOverride<Scope | undefined>(REQUIRED_SCOPE, targets) ?? 'admin';
    if (!hasScope(principal, scope)) {
      throw new ProblemException(403, `This API key lacks the "${scope}" scope.`);
    }
    const rule = this.reflector.getAllAndOverride<TopicRule | undefined>(TOPIC_RULE, targets) ?? 'unlimited';
    await this.access.authorize(principal, rule, req);
    req.principal = principal;
    return true;
  }
}
