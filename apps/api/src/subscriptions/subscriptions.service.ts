import { Catalog } from '@herald/catalog';
import {
  generateSigningSecret,
  newId,
  randomToken,
  validateDeliveryPolicy,
  validateFilterPolicy,
  type FieldError,
  type FilterPolicyScope,
  type Subscription,
  type SubscriptionStatus,
} from '@herald/core';
import { ChangeNotifier, QueueClient } from '@herald/queue';
import { ChannelRegistry } from '@herald/delivery';
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
export function subscriptionView(s: Subscription) {
  return {
    id: s.id,
    topic: s.topic,
    protocol: s.protocol,
    endpoint: s.endpoint,
    status: s.status,
    filterPolicy: s.filterPolicy,
    filterPolicyScope: s.filterPolicyScope,
    rawDelivery: s.rawDelivery,
    deliveryPolicy: s.deliveryPolicy,
    metadata: s.metadata,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    confirmedAt: s.confirmedAt,
  };
}

function checkFilter(policy: unknown, scope: FilterPolicyScope, errors: FieldError[]): void {
  if (policy === undefined || policy === null) return;
  errors.push(...validateFilterPolicy(policy, scope));
}

@Injectable()
export class SubscriptionsService {
  constructor(
    private readonly catalog: Catalog,
    private readonly channels: ChannelRegistry,
    private readonly queues: QueueClient,
    private readonly changes: ChangeNotifier,
  ) {}

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
      secret: dto.protocol === 'webhook' || dto.protocol === 'function' ? generateSigningSecret() : null,
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
  async find(id: string): Promise<Subscription> {
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
    const token = randomToken();
    await this.catalog.subscriptions.setConfirmationToken(
      id,
      hashToken(token),
      new Date(Date.now() + CONFIRMATION_TTL_MS),
    );
    await this.sendConfirmation(sub, token);
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

  /** Confirms by token; null when the token is unknown or expired. */
  async confirm(token: string): Promise<Subscription | null> {
    const sub = await this.catalog.subscriptions.findByConfirmationTokenHash(hashToken(token));
    if (!sub) return null;
    if (sub.status === 'pending') {
      await this.catalog.subscriptions.setStatus(sub.id, 'active', new Date());
      await this.changes.notify({ kind: 'subscription', id: sub.id, topic: sub.topic });
      return { ...sub, status: 'active' };
    }
    return sub;
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

  private async sendConfirmation(sub: Subscription, token: string): Promise<void> {
    await this.queues.addConfirmation(sub.protocol, {
      kind: 'SubscriptionConfirmation',
      sendId: newId('msg'),
      subscriptionId: sub.id,
      token,
    });
  }
}
