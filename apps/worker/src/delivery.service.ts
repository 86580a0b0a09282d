import { Catalog, type CatalogEvent } from '@herald/catalog';
import type { ChannelAdapter, DeliveryRequest } from '@herald/channels';
import type { HeraldConfig } from '@herald/config';
import {
  classifyNetworkError,
  newId,
  resolveDeliveryPolicy,
  retryDelayMs,
  type DeliveryOutcome,
  type DeliveryPolicy,
  type Subscription,
  type Topic,
} from '@herald/core';
import {
  CatalogEventStream,
  ChangeNotifier,
  CONFIRMATION_MAX_ATTEMPTS,
  RateLimiter,
  RetryLater,
  type ConfirmationJob,
  type DeliveryJob,
  type JobHandle,
  type NotificationJob,
} from '@herald/queue';
import { HERALD_CONFIG, LOGGER } from '@herald/runtime';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { CatalogCache } from './catalog-cache';
import { ChannelRegistry } from './channel-registry';
import { linksFor } from './links';

/** What a delivery that can no longer be made needs to become a dead letter. */
export interface DeadLetterInput {
  job: NotificationJob;
  subscription: Pick<Subscription, 'topic' | 'protocol' | 'endpoint'> | null;
  attempts: number;
  reason: string;
  lastError: string | null;
  lastStatusCode: number | null;
}

/**
 * Runs one delivery attempt for any channel: throttle, send through the channel's adapter, classify,
 * record, and retry or dead-letter. This is the one place where retries and dead letters are decided.
 */
@Injectable()
export class DeliveryService {
  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(LOGGER) private readonly log: Logger,
    private readonly catalog: Catalog,
    private readonly cache: CatalogCache,
    private readonly channels: ChannelRegistry,
    private readonly events: CatalogEventStream,
    private readonly changes: ChangeNotifier,
    private readonly limiter: RateLimiter,
  ) {}

  async handle(job: JobHandle<DeliveryJob>): Promise<void> {
    if (job.data.kind === 'SubscriptionConfirmation') return this.confirm(job as JobHandle<ConfirmationJob>);
    return this.notify(job as JobHandle<NotificationJob>);
  }

  private async notify(job: JobHandle<NotificationJob>): Promise<void> {
    const data = job.data;
    const attempt = job.attemptsMade + 1;
    const sub = await this.cache.subscription(data.subscriptionId);
    if (!sub || sub.status !== 'active') {
      await this.events.emit({
        type: 'cancelled',
        deliveryId: data.deliveryId,
        run: data.run,
        reason: sub ? `subscription is ${sub.status}` : 'subscription was deleted',
      });
      return;
    }
    const topic = await this.cache.topic(sub.topic);
    const policy = resolveDeliveryPolicy(sub.deliveryPolicy, topic?.deliveryPolicy);
    const adapter = this.channels.adapter(sub.protocol);
    const message = await this.cache.payload(data.messageId);
    if (!message) {
      await this.deadLetter({
        job: data,
        subscription: sub,
        attempts: attempt - 1,
        reason: 'message payload no longer exists',
        lastError: null,
        lastStatusCode: null,
      });
      return;
    }
    const request: DeliveryRequest = {
      kind: 'Notification',
      deliveryId: data.deliveryId,
      attempt,
      subscription: sub,
      topic: topicView(topic, sub.topic),
      unsubscribeUrl: linksFor(this.config, sub).unsubscribeUrl,
      message,
    };
    await this.throttle(job, adapter, request, sub, policy);

    const started = performance.now();
    const outcome = await safeSend(adapter, request);
    const durationMs = Math.round(performance.now() - started);
    await this.record(job, sub, policy, attempt, durationMs, outcome);
  }

  /** Waits for the subscription's and the provider's throttles without spending an attempt. */
  private async throttle(
    job: JobHandle<NotificationJob>,
    adapter: ChannelAdapter,
    request: DeliveryRequest,
    sub: Subscription,
    policy: DeliveryPolicy,
  ): Promise<void> {
    if (policy.throttlePerSecond) {
      const wait = await this.limiter.take(`sub:${sub.id}`, policy.throttlePerSecond);
      if (wait > 0) await job.postpone(wait);
    }
    const sender = adapter.senderThrottle?.(request);
    if (sender) {
      const wait = await this.limiter.take(sender.key, sender.perSecond);
      if (wait > 0) await job.postpone(wait);
    }
  }

  private async record(
    job: JobHandle<NotificationJob>,
    sub: Subscription,
    policy: DeliveryPolicy,
    attempt: number,
    durationMs: number,
    outcome: DeliveryOutcome,
  ): Promise<void> {
    const data = job.data;
    const exhausted = outcome.result === 'retry' && attempt >= policy.maxAttempts;
    const status =
      outcome.result === 'delivered'
        ? 'delivered'
        : outcome.result === 'retry' && !exhausted
          ? 'retrying'
          : 'dead';
    const attemptEvent: CatalogEvent = {
      type: 'attempt',
      deliveryId: data.deliveryId,
      // The delivery's identity, so the record can be created even if this event is applied first.
      messageId: data.messageId,
      subscriptionId: data.subscriptionId,
      topic: sub.topic,
      protocol: sub.protocol,
      run: data.run,
      attempt,
      at: new Date().toISOString(),
      durationMs,
      outcome: outcome.result,
      statusCode: outcome.statusCode ?? null,
      error: outcome.result === 'delivered' ? null : outcome.error,
      status,
      providerMessageId: outcome.result === 'delivered' ? (outcome.providerMessageId ?? null) : null,
    };
    if (outcome.result === 'delivered') {
      await this.events.emit(attemptEvent);
      return;
    }
    if (outcome.result === 'retry' && !exhausted) {
      await this.events.emit(attemptEvent);
      throw new RetryLater(outcome.error, retryDelayMs(attempt, policy, outcome.retryAfterMs));
    }
    if (outcome.result === 'failed' && outcome.action) await this.applyAction(sub, outcome.action);
    await this.deadLetter(
      {
        job: data,
        subscription: sub,
        attempts: attempt,
        reason: exhausted ? `retries exhausted after ${attempt} attempts` : 'permanent failure',
        lastError: outcome.error,
        lastStatusCode: outcome.statusCode ?? null,
      },
      attemptEvent,
    );
  }

  /** Records a dead letter (with the attempt that caused it, when there is one) in one stream entry. */
  async deadLetter(input: DeadLetterInput, attemptEvent?: CatalogEvent): Promise<void> {
    const { job, subscription } = input;
    const dead: CatalogEvent = {
      type: 'dead',
      id: newId('dlq'),
      deliveryId: job.deliveryId,
      run: job.run,
      messageId: job.messageId,
      subscriptionId: job.subscriptionId,
      topic: subscription?.topic ?? '',
      protocol: subscription?.protocol ?? 'webhook',
      endpoint: subscription?.endpoint ?? '',
      attempts: input.attempts,
      reason: input.reason,
      lastError: input.lastError,
      lastStatusCode: input.lastStatusCode,
      deadAt: new Date().toISOString(),
    };
    await this.events.emit(...(attemptEvent ? [attemptEvent, dead] : [dead]));
    this.log.warn(
      { deliveryId: job.deliveryId, subscriptionId: job.subscriptionId, reason: input.reason },
      'delivery dead-lettered',
    );
  }

  /** 410 Gone disables the subscription; an SMS opt-out unsubscribes it. Rare, so written at once. */
  private async applyAction(sub: Subscription, action: 'disable' | 'unsubscribe'): Promise<void> {
    const status = action === 'disable' ? 'disabled' : 'unsubscribed';
    await this.catalog.subscriptions.setStatus(sub.id, status);
    this.cache.invalidate({ kind: 'subscription', id: sub.id });
    await this.changes.notify({ kind: 'subscription', id: sub.id, topic: sub.topic });
    this.log.warn({ subscriptionId: sub.id, status }, 'subscription stopped by its receiver');
  }

  private async confirm(job: JobHandle<ConfirmationJob>): Promise<void> {
    const data = job.data;
    const sub = await this.catalog.subscriptions.get(data.subscriptionId);
    if (!sub || sub.status !== 'pending') return;
    const topic = await this.cache.topic(sub.topic);
    const links = linksFor(this.config, sub, data.token);
    const adapter = this.channels.adapter(sub.protocol);
    const attempt = job.attemptsMade + 1;
    const outcome = await safeSend(adapter, {
      kind: 'SubscriptionConfirmation',
      deliveryId: data.sendId,
      messageId: data.sendId,
      attempt,
      subscription: sub,
      topic: topicView(topic, sub.topic),
      unsubscribeUrl: links.unsubscribeUrl,
      token: data.token,
      confirmUrl: links.confirmUrl,
    });
    if (outcome.result === 'delivered') {
      this.log.info({ subscriptionId: sub.id }, 'confirmation sent');
      return;
    }
    if (outcome.result === 'retry' && attempt < CONFIRMATION_MAX_ATTEMPTS) {
      const policy = resolveDeliveryPolicy(sub.deliveryPolicy, topic?.deliveryPolicy);
      throw new RetryLater(outcome.error, retryDelayMs(attempt, policy, outcome.retryAfterMs));
    }
    this.log.warn(
      { subscriptionId: sub.id, error: outcome.error },
      'confirmation could not be sent; resend it with POST /v1/subscriptions/{id}/confirmation',
    );
  }
}

function topicView(topic: Topic | null, name: string): Pick<Topic, 'name' | 'displayName'> {
  return { name, displayName: topic?.displayName ?? null };
}

/** Adapters return outcomes; anything they throw is an unexpected error, retried like a network error. */
async function safeSend(adapter: ChannelAdapter, request: DeliveryRequest): Promise<DeliveryOutcome> {
  try {
    return await adapter.send(request);
  } catch (err) {
    return classifyNetworkError(err);
  }
}
