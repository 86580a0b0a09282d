import { Catalog, type SubscriptionRecord } from '@herald/catalog';
import {
  checkSigningSecret,
  generateSigningSecret,
  newId,
  randomToken,
  validateDeliveryPolicy,
  validateFilterPolicy,
  type DeliveryFormat,
  type FieldError,
  type FilterPolicyScope,
  type Subscription,
  type SubscriptionStatus,
} from '@herald/core';
import { ChangeNotifier, Shards } from '@herald/queue';
import { ChannelRegistry } from '@herald/delivery';
import { SnsArns } from '@herald/sns';
import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { isAdmin, type Principal } from '../auth/principal';
import { badRequest, conflict, forbidden, notFound, validationFailed } from '../problem/problem';
import { SUB_ID, TOPIC_NAME } from '../resource-ids';
import type { CreateSubscriptionDto, UpdateSubscriptionDto } from './subscription.dto';

export const CONFIRMATION_TTL_MS = 72 * 3600 * 1000;
const METADATA_MAX_BYTES = 4096;

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** The subscription as the API shows it: never its secrets or tokens. */
export function subscriptionView(s: SubscriptionRecord, arns: SnsArns) {
  return {
    id: s.id,
    arn: arns.subscription(s.topic, s.id),
    topic: s.topic,
    protocol: s.protocol,
    endpoint: s.endpoint,
    status: s.status,
    filterPolicy: s.filterPolicy,
    filterPolicyScope: s.filterPolicyScope,
    rawDelivery: s.rawDelivery,
    deliveryPolicy: s.deliveryPolicy,
    format: s.format,
    metadata: s.metadata,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    confirmedAt: s.confirmedAt,
    lastConfirmationError: s.lastConfirmationError,
    lastConfirmationErrorAt: s.lastConfirmationErrorAt,
  };
}

function checkFilter(policy: unknown, scope: FilterPolicyScope, errors: FieldError[]): void {
  if (policy === undefined || policy === null) return;
  errors.push(...validateFilterPolicy(policy, scope));
}

/** SNS's documents exist for HTTP, email (email-json) and Lambda receivers only. */
function checkFormat(
  format: DeliveryFormat | undefined,
  sub: Pick<Subscription, 'protocol' | 'endpoint'>,
  errors: FieldError[],
): void {
  if (format !== 'sns') return;
  const ok =
    sub.protocol === 'webhook' ||
    sub.protocol === 'email' ||
    (sub.protocol === 'function' && sub.endpoint.startsWith('arn:'));
  if (!ok)
    errors.push({
      field: 'format',
      message: 'sns is a format for webhook, email and Lambda function subscriptions only',
    });
}

@Injectable()
export class SubscriptionsService {
  constructor(
    private readonly catalog: Catalog,
    private readonly channels: ChannelRegistry,
    private readonly shards: Shards,
    private readonly changes: ChangeNotifier,
    private readonly arns: SnsArns,
  ) {}

  view(s: SubscriptionRecord) {
    return subscriptionView(s, this.arns);
  }

  async create(topic: string, dto: CreateSubscriptionDto, principal: Principal) {
    if (!TOPIC_NAME.test(topic) || !(await this.catalog.topics.get(topic))) throw notFound('Topic', topic);
    if (dto.skipConfirmation && !isAdmin(principal)) {
      throw forbidden('Only an admin API key may pass skipConfirmation.');
    }
    const adapter = this.channels.adapter(dto.protocol);
    const availability = adapter.availability();
    if (!availability.available) throw badRequest(availability.reason);
    const errors: FieldError[] = [];
    const endpoint = adapter.checkEndpoint(dto.endpoint);
    if (!endpoint.ok) errors.push({ field: 'endpoint', message: endpoint.message });
    const scope = dto.filterPolicyScope ?? 'attributes';
    checkFilter(dto.filterPolicy, scope, errors);
    errors.push(...validateDeliveryPolicy(dto.deliveryPolicy));
    if (dto.metadata && Buffer.byteLength(JSON.stringify(dto.metadata)) > METADATA_MAX_BYTES) {
      errors.push({ field: 'metadata', message: `must be at most ${METADATA_MAX_BYTES} bytes of JSON` });
    }
    if (endpoint.ok) checkFormat(dto.format, { protocol: dto.protocol, endpoint: endpoint.endpoint }, errors);
    const signed = dto.protocol === 'webhook' || dto.protocol === 'function';
    if (dto.secret !== undefined) {
      const problem = signed
        ? checkSigningSecret(dto.secret)
        : `${dto.protocol} subscriptions are not signed`;
      if (problem) errors.push({ field: 'secret', message: problem });
    }
    if (errors.length > 0 || !endpoint.ok) throw validationFailed(errors);

    const needsConfirmation =
      (dto.protocol === 'webhook' || dto.protocol === 'email') && !dto.skipConfirmation;
    const token = needsConfirmation ? randomToken() : null;
    const now = new Date();
    const result = await this.catalog.subscriptions.create({
      id: newId('sub'),
      topic,
      protocol: dto.protocol,
      endpoint: endpoint.endpoint,
      status: needsConfirmation ? 'pending' : 'active',
      filterPolicy: dto.filterPolicy ?? null,
      filterPolicyScope: scope,
      rawDelivery: dto.rawDelivery ?? false,
      deliveryPolicy: dto.deliveryPolicy ?? null,
      metadata: dto.metadata ?? {},
      format: dto.format ?? 'herald',
      secret: signed ? (dto.secret ?? generateSigningSecret()) : null,
      confirmationTokenHash: token ? hashToken(token) : null,
      confirmationExpiresAt: token ? new Date(now.getTime() + CONFIRMATION_TTL_MS) : null,
      unsubscribeToken: randomToken(),
      confirmedAt: needsConfirmation ? null : now,
    });
    if (!result) throw notFound('Topic', topic);
    const { subscription, created } = result;
    if (created && token) await this.sendConfirmation(subscription, token);
    if (created) await this.changes.notify({ kind: 'subscription', id: subscription.id, topic });
    return { subscription, created };
  }

  /** Loads a subscription; 404 for any id that does not exist. */
  async find(id: string): Promise<SubscriptionRecord> {
    const sub = SUB_ID.test(id) ? await this.catalog.subscriptions.get(id) : null;
    if (!sub) throw notFound('Subscription', id);
    return sub;
  }

  async update(id: string, dto: UpdateSubscriptionDto) {
    const sub = await this.find(id);
    const errors: FieldError[] = [];
    const scope = dto.filterPolicyScope ?? sub.filterPolicyScope;
    const policy = dto.filterPolicy !== undefined ? dto.filterPolicy : sub.filterPolicy;
    if (dto.filterPolicy !== undefined || dto.filterPolicyScope !== undefined)
      checkFilter(policy, scope, errors);
    errors.push(...validateDeliveryPolicy(dto.deliveryPolicy));
    checkFormat(dto.format, sub, errors);
    if (errors.length > 0) throw validationFailed(errors);
    if (dto.status !== undefined && dto.status !== sub.status) {
      const allowed: SubscriptionStatus[] = dto.status === 'paused' ? ['active'] : ['paused', 'disabled'];
      if (!allowed.includes(sub.status)) {
        throw conflict(`A ${sub.status} subscription cannot be made ${dto.status}.`);
      }
    }
    const updated = await this.catalog.subscriptions.update(id, {
      ...(dto.filterPolicy !== undefined ? { filterPolicy: dto.filterPolicy } : {}),
      ...(dto.filterPolicyScope !== undefined ? { filterPolicyScope: dto.filterPolicyScope } : {}),
      ...(dto.rawDelivery !== undefined ? { rawDelivery: dto.rawDelivery } : {}),
      ...(dto.deliveryPolicy !== undefined ? { deliveryPolicy: dto.deliveryPolicy } : {}),
      ...(dto.format !== undefined ? { format: dto.format } : {}),
      ...(dto.status !== undefined ? { status: dto.status } : {}),
    });
    if (!updated) throw notFound('Subscription', id);
    await this.changes.notify({ kind: 'subscription', id, topic: sub.topic });
    return updated;
  }

  async remove(id: string): Promise<void> {
    const sub = await this.find(id);
    await this.catalog.subscriptions.delete(id);
    await this.changes.notify({ kind: 'subscription', id, topic: sub.topic });
  }

  async resendConfirmation(id: string): Promise<void> {
    const sub = await this.find(id);
    if (sub.status !== 'pending')
      throw conflict(`The subscription is ${sub.status}; only a pending one is confirmed.`);
    await this.sendConfirmation(sub, await this.newConfirmationToken(id));
  }

  async rotateSecret(id: string): Promise<string> {
    const sub = await this.find(id);
    if (sub.protocol !== 'webhook' && sub.protocol !== 'function') {
      throw badRequest(`${sub.protocol} subscriptions have no signing secret.`);
    }
    const secret = generateSigningSecret();
    await this.catalog.subscriptions.rotateSecret(id, secret, new Date(Date.now() + 24 * 3600 * 1000));
    await this.changes.notify({ kind: 'subscription', id, topic: sub.topic });
    return secret;
  }

  /**
   * Confirms by token (of a subscription to `topic`, when given); null when the token is unknown or
   * expired. An unsubscribed subscription holds a
   * token only when its UnsubscribeConfirmation offered one (SNS's "restore the subscription").
   * The token that confirmed a subscription confirms it again idempotently (`alreadyConfirmed`, as SNS
   * answers a repeated ConfirmSubscription) while it is active or paused, and changes nothing.
   */
  async confirm(
    token: string,
    topic?: string,
  ): Promise<{ subscription: SubscriptionRecord; alreadyConfirmed: boolean } | null> {
    const hash = hashToken(token);
    const sub = await this.catalog.subscriptions.findByConfirmationTokenHash(hash);
    if (!sub) {
      const confirmed = await this.catalog.subscriptions.findByConfirmedTokenHash(hash);
      const stands = confirmed && (confirmed.status === 'active' || confirmed.status === 'paused');
      if (!stands || (topic !== undefined && confirmed.topic !== topic)) return null;
      return { subscription: confirmed, alreadyConfirmed: true };
    }
    if (topic !== undefined && sub.topic !== topic) return null;
    if (sub.status === 'pending' || sub.status === 'unsubscribed') {
      const confirmed = await this.catalog.subscriptions.setStatus(sub.id, 'active', new Date());
      await this.changes.notify({ kind: 'subscription', id: sub.id, topic: sub.topic });
      return { subscription: confirmed ?? { ...sub, status: 'active' }, alreadyConfirmed: false };
    }
    return { subscription: sub, alreadyConfirmed: sub.status === 'active' || sub.status === 'paused' };
  }

  async findByUnsubscribeToken(token: string): Promise<Subscription | null> {
    return this.catalog.subscriptions.findByUnsubscribeToken(token);
  }

  async unsubscribe(token: string): Promise<Subscription | null> {
    const sub = await this.catalog.subscriptions.findByUnsubscribeToken(token);
    if (!sub) return null;
    if (sub.status !== 'unsubscribed') {
      await this.catalog.subscriptions.setStatus(sub.id, 'unsubscribed');
      await this.changes.notify({ kind: 'subscription', id: sub.id, topic: sub.topic });
    }
    return { ...sub, status: 'unsubscribed' };
  }

  /**
   * Unsubscribes as SNS does (its Unsubscribe action and UnsubscribeURL): the subscription stays, as
   * `unsubscribed`, and an SNS-format webhook gets an UnsubscribeConfirmation whose SubscribeURL restores it.
   */
  async unsubscribeAsSns(sub: Subscription): Promise<Subscription> {
    if (sub.status === 'unsubscribed') return sub;
    await this.catalog.subscriptions.setStatus(sub.id, 'unsubscribed');
    await this.changes.notify({ kind: 'subscription', id: sub.id, topic: sub.topic });
    if (sub.format === 'sns' && sub.protocol === 'webhook') {
      const token = await this.newConfirmationToken(sub.id);
      await this.sendConfirmation(sub, token, 'UnsubscribeConfirmation');
    }
    return { ...sub, status: 'unsubscribed' };
  }

  /** Subscribes an unsubscribed endpoint again: pending with a new confirmation, or active where none is needed. */
  async resubscribe(sub: Subscription): Promise<Subscription> {
    const needsConfirmation = sub.protocol === 'webhook' || sub.protocol === 'email';
    let token: string | null = null;
    if (needsConfirmation) {
      token = await this.newConfirmationToken(sub.id);
      await this.catalog.subscriptions.setStatus(sub.id, 'pending');
    } else {
      await this.catalog.subscriptions.setStatus(sub.id, 'active', new Date());
    }
    await this.changes.notify({ kind: 'subscription', id: sub.id, topic: sub.topic });
    if (token) await this.sendConfirmation(sub, token);
    return (await this.catalog.subscriptions.get(sub.id)) ?? sub;
  }

  private async newConfirmationToken(id: string): Promise<string> {
    const token = randomToken();
    await this.catalog.subscriptions.setConfirmationToken(
      id,
      hashToken(token),
      new Date(Date.now() + CONFIRMATION_TTL_MS),
    );
    return token;
  }

  private async sendConfirmation(
    sub: Subscription,
    token: string,
    snsType?: 'UnsubscribeConfirmation',
  ): Promise<void> {
    await this.shards.byHash(sub.id).queues.addConfirmation(sub.protocol, {
      kind: 'SubscriptionConfirmation',
      sendId: newId('msg'),
      subscriptionId: sub.id,
      token,
      ...(snsType ? { snsType } : {}),
    });
  }
}
