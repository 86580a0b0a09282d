import type { HeraldConfig } from '@herald/config';
import { newId, type MessagePayload, type ReceiverAnswer, type Subscription } from '@herald/core';
import { HERALD_CONFIG } from '@herald/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { CatalogCache } from './catalog-cache';
import { ChannelRegistry } from './channel-registry';
import { linksFor } from './links';
import { safeSend, topicView } from './safe-send';

/** What a test notification met: one attempt, never retried nor recorded as a delivery. */
export interface TestNotificationResult {
  messageId: string;
  outcome: 'delivered' | 'failed';
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  response: ReceiverAnswer | null;
}

/**
 * Sends a subscription one signed Notification now, as a real delivery would be sent (same
 * signature, headers and envelope), so a developer can check a receiver without publishing. Its body
 * says it is a test; the message exists nowhere else.
 */
@Injectable()
export class TestNotificationService {
  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    private readonly cache: CatalogCache,
    private readonly channels: ChannelRegistry,
  ) {}

  async send(sub: Subscription & { unsubscribeToken: string }): Promise<TestNotificationResult> {
    const message: MessagePayload = {
      id: newId('msg'),
      topic: sub.topic,
      subject: 'Herald test notification',
      body: { test: true, text: `A test notification from Herald to subscription ${sub.id}.` },
      attributes: {},
      bodyByProtocol: {},
      publishedAt: new Date().toISOString(),
    };
    const started = performance.now();
    const outcome = await safeSend(this.channels.adapter(sub.protocol), {
      kind: 'Notification',
      deliveryId: `dlv_test_${message.id}`,
      attempt: 1,
      subscription: sub,
      topic: topicView(await this.cache.topic(sub.topic), sub.topic),
      unsubscribeUrl: linksFor(this.config, sub).unsubscribeUrl,
      message,
    });
    return {
      messageId: message.id,
      outcome: outcome.result === 'delivered' ? 'delivered' : 'failed',
      statusCode: outcome.statusCode ?? null,
      error: outcome.result === 'delivered' ? null : outcome.error,
      durationMs: Math.round(performance.now() - started),
      response: outcome.response ?? null,
    };
  }
}
