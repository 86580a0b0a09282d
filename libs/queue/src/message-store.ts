import type { MessagePayload } from '@herald/core';
import type Redis from 'ioredis';

/** Payloads outlive the longest default retry window (15 attempts capped at 1 h) by far. */
export const PAYLOAD_TTL_SECONDS = 7 * 24 * 3600;
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

const DONE = '|done';

// Returns the message id already bound to the key (with its "|done" mark), or false after binding ours.
const CLAIM_KEY = `
local cur = redis.call('GET', KEYS[1])
if cur then return cur end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return false`;

export type IdempotencyClaim =
  | { state: 'new' }
  | { state: 'done'; messageId: string }
  /** A publish that was accepted into the key but may not have finished: finish it with this id. */
  | { state: 'incomplete'; messageId: string };

/**
 * Message payloads (stored once, read by every delivery) and publish idempotency keys, in Redis.
 * Keys carry the queue prefix's hash tag so they live in the queues' Redis Cluster slot.
 */
export class MessageStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private payloadKey(id: string): string {
    return `${this.prefix}:payload:${id}`;
  }

  private idempotencyKey(topic: string, key: string): string {
    return `${this.prefix}:idem:${topic}:${key}`;
  }

  async putPayload(payload: MessagePayload): Promise<void> {
    await this.redis.set(this.payloadKey(payload.id), JSON.stringify(payload), 'EX', PAYLOAD_TTL_SECONDS);
  }

  async getPayload(id: string): Promise<MessagePayload | null> {
    const raw = await this.redis.get(this.payloadKey(id));
    return raw === null ? null : (JSON.parse(raw) as MessagePayload);
  }

  /** Binds an idempotency key to `messageId` unless it is bound already. */
  async claimIdempotencyKey(topic: string, key: string, messageId: string): Promise<IdempotencyClaim> {
    const cur = (await this.redis.eval(
      CLAIM_KEY,
      1,
      this.idempotencyKey(topic, key),
      messageId,
      String(IDEMPOTENCY_TTL_SECONDS),
    )) as string | null;
    if (!cur) return { state: 'new' };
    if (cur.endsWith(DONE)) return { state: 'done', messageId: cur.slice(0, -DONE.length) };
    return { state: 'incomplete', messageId: cur };
  }

  /** Marks the key's publish as complete (payload stored and fan-out enqueued). */
  async completeIdempotencyKey(topic: string, key: string, messageId: string): Promise<void> {
    await this.redis.set(this.idempotencyKey(topic, key), messageId + DONE, 'EX', IDEMPOTENCY_TTL_SECONDS);
  }
}
