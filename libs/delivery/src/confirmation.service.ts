import { Catalog } from '@herald/catalog';
import type { HeraldConfig } from '@herald/config';
import { resolveDeliveryPolicy, retryDelayMs } from '@herald/core';
import { CONFIRMATION_MAX_ATTEMPTS, RetryLater, type ConfirmationJob, type JobHandle } from '@herald/queue';
import { HERALD_CONFIG, LOGGER } from '@herald/runtime';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { CatalogCache } from './catalog-cache';
import { ChannelRegistry } from './channel-registry';
import { linksFor } from './links';
import { safeSend, topicView } from './safe-send';

/**
 * Sends subscription confirmations (webhook: a signed SubscriptionConfirmation POST; email: the
 * confirm link), and the UnsubscribeConfirmation SNS-format subscriptions get once unsubscribed.
 * Retried like deliveries, but never dead-lettered: the operator can resend one.
 */
@Injectable()
export class ConfirmationService {
  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(LOGGER) private readonly log: Logger,
    private readonly catalog: Catalog,
    private readonly cache: CatalogCache,
    private readonly channels: ChannelRegistry,
  ) {}

  async send(job: JobHandle<ConfirmationJob>): Promise<void> {
    const data = job.data;
    const sub = await this.catalog.subscriptions.get(data.subscriptionId);
    const awaited = data.snsType === 'UnsubscribeConfirmation' ? 'unsubscribed' : 'pending';
    if (!sub || sub.status !== awaited) return;
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
      ...(data.snsType ? { snsType: data.snsType } : {}),
    });
    if (outcome.result === 'delivered') {
      if (sub.lastConfirmationError !== null)
        await this.catalog.subscriptions.setConfirmationError(sub.id, null);
      this.log.info({ subscriptionId: sub.id }, 'confirmation sent');
      return;
    }
    const retrying = outcome.result === 'retry' && attempt < CONFIRMATION_MAX_ATTEMPTS;
    // Shown on the pending subscription (GET /v1/subscriptions/{id}), so nobody has to read the log.
    await this.catalog.subscriptions.setConfirmationError(
      sub.id,
      `attempt ${attempt} of ${CONFIRMATION_MAX_ATTEMPTS}: ${outcome.error}` +
        (retrying ? ' (retrying)' : '; resend it with POST /v1/subscriptions/{id}/confirmation'),
    );
    if (retrying) {
      const policy = resolveDeliveryPolicy(sub.deliveryPolicy, topic?.deliveryPolicy);
      throw new RetryLater(outcome.error, retryDelayMs(attempt, policy, outcome.retryAfterMs));
    }
    this.log.warn(
      { subscriptionId: sub.id, error: outcome.error },
      'confirmation could not be sent; resend it with POST /v1/subscriptions/{id}/confirmation',
    );
  }
}
