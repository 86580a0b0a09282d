import type { Scope } from '@herald/core';
import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ProblemException } from '../problem/problem';
import { AccessPolicy, type TopicRule } from './access-policy';
import { PUBLIC_ROUTE, REQUIRED_SCOPE, TOPIC_RULE, type AuthedRequest } from './auth.decorators';
import { ApiKeyService } from './api-key.service';
import { bearerKey } from './bearer-key';
import { hasScope } from './principal';

/** What a route's decorators ask of the caller. */
interface RouteAuth {
  isPublic: boolean;
  /** null: any valid key; the default is admin. */
  required: Scope | null;
  rule: TopicRule;
}

/** Bearer API key on every /v1 route but the public ones; scopes checked here, topic limits by AccessPolicy. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  /**
   * Per controller class and handler (a handler a subclass inherits may carry other class metadata):
   * decorators are fixed once the app is built, and every request asks.
   */
  private readonly routes = new WeakMap<object, WeakMap<object, RouteAuth>>();

  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyService,
    private readonly access: AccessPolicy,
  ) {}

  private routeAuth(ctx: ExecutionContext): RouteAuth {
    const handler = ctx.getHandler();
    const controller = ctx.getClass();
    let handlers = this.routes.get(controller);
    if (!handlers) {
      handlers = new WeakMap();
      this.routes.set(controller, handlers);
    }
    let auth = handlers.get(handler);
    if (!auth) {
      const targets = [handler, controller];
      const scope = this.reflector.getAllAndOverride<Scope | null | undefined>(REQUIRED_SCOPE, targets);
      auth = {
        isPublic: Boolean(this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)),
        required: scope === undefined ? 'admin' : scope,
        rule: this.reflector.getAllAndOverride<TopicRule | undefined>(TOPIC_RULE, targets) ?? 'unlimited',
      };
      handlers.set(handler, auth);
    }
    return auth;
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const { isPublic, required, rule } = this.routeAuth(ctx);
    if (isPublic) return true;
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
    if (required !== null && !hasScope(principal, required)) {
      throw new ProblemException(403, `This API key lacks the "${required}" scope.`);
    }
    await this.access.authorize(principal, rule, req);
    req.principal = principal;
    return true;
  }
}
