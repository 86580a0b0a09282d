import type { MessagePayload } from '@herald/core';
import type { ChainableCommander } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { createHash } from 'node:crypto';
import type { RedisClient } from './redis-connection';
import type { Shards } from './shards';

/** Payloads outlive the longest default retry window (15 attempts capped at 1 h) by far. */
export const PAYLOAD_TTL_SECONDS = 7 * 24 * 3600;
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
/**
 * Payloads of recent messages kept in this process, so deliveries made here need no Redis read: a
 * budget of memory, counted as what a parsed payload costs on the heap (about twice its JSON, plus
 * the objects around it), not its JSON length. Deliveries made in this process follow their publish
 * by milliseconds, so a few seconds' worth of messages is all that helps; a delivery whose payload
 * has gone reads it from Redis.
 */
const RECENT_PAYLOAD_HEAP_BYTES = 16 * 1024 * 1024;
const payloadHeapBytes = (jsonLength: number) => 2 * jsonLength + 600;

const DONE = '|done';

// Returns what the key already holds, or false after binding ours.
const CLAIM_KEY = `
local cur = redis.call('GET', KEYS[1])
if cur then return cur end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return false`;

export type IdempotencyClaim =
  | { state: 'new' }
  | { state: 'done'; messageId: string }
  /** A publish that was accepted into the key but may not have finished: finish it with this id. */
  | { state: 'incomplete'; messageId: string }
  /** The key was used for a different request. */
  | { state: 'mismatch'; messageId: string };

/** What identifies a request under an idempotency key: its content, key order aside. */
export function requestFingerprint(request: unknown): string {
  return createHash('sha256').update(stableJson(request)).digest('base64url').slice(0, 22);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Message payloads (stored once, read by every delivery) and publish idempotency keys, in Redis.
 * A payload lives on its message's shard and an idempotency key on the shard its key hashes to (the
 * publisher puts the message there too), so a publish writes one slot. Payloads this process
 * published or read lately are also kept in memory.
 */
export class MessageStore {
  /** Sized from each payload's JSON length, known when it was stored or read. */
  private readonly recent = new LRUCache<string, MessagePayload>({ maxSize: RECENT_PAYLOAD_HEAP_BYTES });

  constructor(
    private readonly redis: RedisClient,
    private readonly shards: Shards,
  ) {}

  payloadKey(id: string): string {
    return `${this.shards.ofMessage(id).prefix}:payload:${id}`;
  }

  /** The shard a publish with this idempotency key goes to (where the key lives). */
  idempotencyShard(topic: string, key: string) {
    return this.shards.byHash(`${topic}\u0000${key}`);
  }

  idempotencyKey(topic: string, key: string): string {
    return `${this.idempotencyShard(topic, key).prefix}:idem:${topic}:${key}`;
  }

  /** Queues the payload's write on `tx` (part of a publish's commit). */
  writePayload(tx: ChainableCommander, payload: MessagePayload): void {
    tx.set(this.payloadKey(payload.id), JSON.stringify(payload), 'EX', PAYLOAD_TTL_SECONDS);
  }

  async putPayload(payload: MessagePayload): Promise<void> {
    await this.redis.set(this.payloadKey(payload.id), JSON.stringify(payload), 'EX', PAYLOAD_TTL_SECONDS);
  }

  /** Remembers a payload this process just stored, for deliveries made here. */
  remember(payload: MessagePayload, bytes: number): void {
    this.recent.set(payload.id, payload, { size: payloadHeapBytes(bytes) });
  }

  /** Forgets a payload (a publish refused after all). */
  forget(id: string): void {
    this.recent.delete(id);
  }

  async getPayload(id: string): Promise<MessagePayload | null> {
    return (await this.getPayloads([id])).get(id) ?? null;
  }

  /** The payloads of these messages that Redis still holds: memory first, then one MGET for the rest. */
  async getPayloads(ids: readonly string[]): Promise<Map<string, MessagePayload>> {
    const found = new Map<string, MessagePayload>();
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const hit = this.recent.get(id);
      if (hit) found.set(id, hit);
      else missing.push(id);
    }
    if (missing.length === 0) return found;
    // One MGET per shard: a cluster cannot read keys of several slots in one command.
    const byShard = new Map<number, string[]>();
    for (const id of missing) {
      const shard = this.shards.ofMessage(id).index;
      const list = byShard.get(shard) ?? [];
      list.push(id);
      byShard.set(shard, list);
    }
    await Promise.all(
      [...byShard.values()].map(async (list) => {
        const raw = await this.redis.mget(...list.map((id) => this.payloadKey(id)));
        raw.forEach((text, i) => {
          if (text === null) return;
          const payload = JSON.parse(text) as MessagePayload;
          found.set(list[i], payload);
          this.remember(payload, text.length);
        });
      }),
    );
    return found;
  }

  /**
   * Binds an idempotency key to `messageId` and the request's fingerprint unless it is bound
   * already. A key bound before fingerprints existed matches any request.
   */
  async claimIdempotencyKey(
    topic: string,
    key: string,
    messageId: string,
    fingerprint = '',
  ): Promise<IdempotencyClaim> {
    const cur = (await this.redis.eval(
      CLAIM_KEY,
      1,
      this.idempotencyKey(topic, key),
      fingerprint ? `${messageId}|${fingerprint}` : messageId,
      String(IDEMPOTENCY_TTL_SECONDS),
    )) as string | null;
    if (!cur) return { state: 'new' };
    const done = cur.endsWith(DONE);
    const [boundId, boundPrint] = (done ? cur.slice(0, -DONE.length) : cur).split('|');
    if (boundPrint && fingerprint && boundPrint !== fingerprint)
      return { state: 'mismatch', messageId: boundId };
    return done ? { state: 'done', messageId: boundId } : { state: 'incomplete', messageId: boundId };
  }

  /** The value that marks a key's publish complete (payload stored and deliveries enqueued). */
  completedIdempotencyValue(messageId: string, fingerprint = ''): string {
    return `${fingerprint ? `${messageId}|${fingerprint}` : messageId}${DONE}`;
  }
}
