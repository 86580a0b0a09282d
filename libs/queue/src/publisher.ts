import { newId, type MessageAttributes, type MessagePayload, type Protocol } from '@herald/core';
import type { MessageStore } from './message-store';
import type { QueueClient } from './queue-client';

export interface PublishInput {
  body: unknown;
  subject: string | null;
  attributes: MessageAttributes;
  bodyByProtocol: Partial<Record<Protocol, unknown>>;
}

export interface PublishResult {
  messageId: string;
  duplicate: boolean;
}

/** Where accepted messages are counted (HeraldMetrics). */
export interface PublishCounter {
  published(n: number): void;
}

/**
 * Accepts a message: stores its payload once and enqueues one fan-out job. The answer is given only
 * after Redis accepted both writes; an idempotency key makes a retried publish return the first id.
 */
export class Publisher {
  constructor(
    private readonly store: MessageStore,
    private readonly queues: QueueClient,
    private readonly counter?: PublishCounter,
  ) {}

  async publish(topic: string, input: PublishInput, idempotencyKey?: string | null): Promise<PublishResult> {
    let messageId = newId('msg');
    let duplicate = false;
    if (idempotencyKey) {
      const claim = await this.store.claimIdempotencyKey(topic, idempotencyKey, messageId);
      if (claim.state === 'done') return { messageId: claim.messageId, duplicate: true };
      if (claim.state === 'incomplete') {
        // The first publish with this key may have died between its writes: finish it under its id.
        messageId = claim.messageId;
        duplicate = true;
      }
    }
    const payload: MessagePayload = {
      id: messageId,
      topic,
      subject: input.subject,
      body: input.body,
      attributes: input.attributes,
      bodyByProtocol: input.bodyByProtocol,
      publishedAt: new Date().toISOString(),
    };
    if (duplicate) {
      const existing = await this.store.getPayload(messageId);
      if (existing) payload.publishedAt = existing.publishedAt;
    }
    await this.store.putPayload(payload);
    await this.queues.addFanout({ messageId, topic });
    if (idempotencyKey) await this.store.completeIdempotencyKey(topic, idempotencyKey, messageId);
    if (!duplicate) this.counter?.published(1);
    return { messageId, duplicate };
  }
}
