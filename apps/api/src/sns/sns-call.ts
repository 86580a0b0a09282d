import type { Scope } from '@herald/core';
import {
  authorizationError,
  invalidParameter,
  SnsError,
  type QueryParams,
  type SnsArns,
  type Xml,
} from '@herald/sns';
import { canUseTopic, hasScope, type Principal } from '../auth/principal';
import { ProblemException, type ProblemBody } from '../problem/problem';

/** One SNS request: its action, its parameters and who signed it (null: a token-only ConfirmSubscription). */
export interface SnsCall {
  action: string;
  params: QueryParams;
  principal: Principal | null;
}

/** An action: the scope it needs (null: none, the token authenticates) and what it does. */
export interface SnsAction {
  scope: Scope | null;
  run(call: SnsCall): Promise<Xml[] | null>;
}

/** The principal of a call to an action that needs a scope (the controller has checked the scope). */
export function principalOf(call: SnsCall): Principal {
  if (!call.principal) throw new Error(`SNS action ${call.action} ran without a principal`);
  return call.principal;
}

/** SNS's words when a key may not act on a topic. */
export function assertSnsTopic(call: SnsCall, topic: string, arns: SnsArns): void {
  const p = principalOf(call);
  if (!canUseTopic(p, topic)) throw notAuthorized(call.action, p, arns.topic(topic));
}

export function assertSnsScope(call: SnsCall, scope: Scope, resource: string): void {
  if (!call.principal || !hasScope(call.principal, scope))
    throw notAuthorized(call.action, call.principal, resource);
}

const notAuthorized = (action: string, p: Principal | null, resource: string) =>
  authorizationError(
    `User: ${p?.keyId ?? 'anonymous'} is not authorized to perform: SNS:${action} on resource: ${resource}`,
  );

/** SNS parameter names of the /v1 fields whose validation the SNS actions share. */
const SNS_NAMES: Record<string, string> = {
  endpoint: 'Endpoint',
  filterPolicy: 'FilterPolicy',
  filterPolicyScope: 'FilterPolicyScope',
  rawDelivery: 'RawMessageDelivery',
  deliveryPolicy: 'DeliveryPolicy',
  attributes: 'MessageAttributes',
  subject: 'Subject',
  body: 'Message',
  bodyByProtocol: 'Message',
  displayName: 'DisplayName',
  name: 'Name',
  format: 'Protocol',
};

function snsField(field: string): string {
  const head = /^[A-Za-z]+/.exec(field)?.[0] ?? field;
  return (SNS_NAMES[head] ?? head) + field.slice(head.length);
}

/**
 * The SNS error for what Herald's services refuse with a problem: a 400 becomes InvalidParameter naming
 * the SNS parameter, 403 AuthorizationError, 404 NotFound, 409 InvalidParameter; anything else passes.
 */
export function snsErrorFrom(err: unknown): unknown {
  if (!(err instanceof ProblemException)) return err;
  const body = err.getResponse() as ProblemBody;
  switch (body.status) {
    case 400: {
      const errors = body.errors ?? [];
      if (errors.length === 0) return invalidParameter('Request', body.detail);
      const first = snsField(errors[0].field).split(/[.[]/)[0];
      return invalidParameter(first, errors.map((e) => `${snsField(e.field)} ${e.message}`).join('; '));
    }
    case 403:
      return authorizationError(body.detail);
    case 404:
      return new SnsError('NotFound', 404, body.detail);
    case 409:
      return invalidParameter('Request', body.detail);
    default:
      return body.status >= 500 ? err : new SnsError('InvalidParameter', 400, body.detail);
  }
}
