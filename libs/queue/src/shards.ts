import type { CatalogEvent } from '@herald/catalog';
import { deliveryParts, messageShard, newMessageId, type Protocol } from '@herald/core';
import { createHash } from 'node:crypto';
import { CatalogEventStream } from './catalog-event-stream';
import { QueueClient, type FollowUp } from './queue-client';
import type { RedisClient } from './redis-connection';

/**
 * The key prefix of shard `index`: shard 0 keeps the base prefix (`{herald}`), so one shard is the
 * layout Herald always had; shard k's hash tag is the base tag with `-k` (`{herald-3}`). Every key of
 * a shard carries its tag, so on a Redis Cluster a shard lives in one slot and shards spread over
 * the masters.
 */
export function shardPrefix(base: string, index: number): string {
  if (index === 0) return base;
  const open = base.indexOf('{');
  const close = base.indexOf('}', open + 1);
  if (open < 0 || close < 0) return `{${base}-${index}}`;
  return `${base.slice(0, close)}-${index}${base.slice(close)}`;
}

/** One shard: its queues and its outcome stream. */
export interface Shard {
  index: number;
  prefix: string;
  queues: QueueClient;
  events: CatalogEventStream;
}

/**
 * The shards the work is spread over (HERALD_SHARDS). A message lives on one shard (its payload,
 * record, first attempts and idempotency key: one slot, so its publish is one atomic MULTI); message
 * ids name their shard, so anything holding an id finds it.
 */
export class Shards {
  readonly all: readonly Shard[];
  private next = 0;

  /** `plain`: a connection without BullMQ's scripts for records without jobs (see QueueClient.record). */
  constructor(redis: RedisClient, basePrefix: string, count = 1, plain: RedisClient = redis) {
    this.all = Array.from({ length: count }, (_, index) => {
      const prefix = shardPrefix(basePrefix, index);
      return {
        index,
        prefix,
        queues: new QueueClient(redis, prefix, plain),
        events: new CatalogEventStream(redis, prefix),
      };
    });
  }

  get count(): number {
    return this.all.length;
  }

  /** The shard of a message (its id says), or of a delivery of it. */
  ofMessage(messageId: string): Shard {
    return this.all[messageShard(messageId, this.all.length)];
  }

  /** A shard chosen by a value (an idempotency key), the same one every time. */
  byHash(value: string): Shard {
    if (this.all.length === 1) return this.all[0];
    const h = createHash('sha1').update(value).digest().readUInt32BE(0);
    return this.all[h % this.all.length];
  }

  /** Shards in turn, to spread messages without a key. */
  rotate(): Shard {
    const shard = this.all[this.next];
    this.next = (this.next + 1) % this.all.length;
    return shard;
  }

  /**
   * Records outcome events on the stream of each event's message (so all of a delivery's events
   * meet in one stream, in order) and schedules follow-ups on `jobShard`, the shard whose job made
   * them: one MULTI when those are the same shard, as they are for a message fanned out at publish.
   */
  async record(
    jobShard: Shard,
    events: readonly CatalogEvent[],
    followUps: ReadonlyMap<Protocol, readonly FollowUp[]>,
  ): Promise<void> {
    const byShard = new Map<Shard, CatalogEvent[]>();
    for (const e of events) {
      const shard = this.ofEvent(e) ?? jobShard;
      const list = byShard.get(shard) ?? [];
      list.push(e);
      byShard.set(shard, list);
    }
    const writes: Array<Promise<void>> = [jobShard.queues.record(byShard.get(jobShard) ?? [], followUps)];
    for (const [shard, list] of byShard)
      if (shard !== jobShard) writes.push(shard.queues.record(list, new Map()));
    await Promise.all(writes);
  }

  /** The shard of the message an event is about, when the event names one. */
  ofEvent(e: CatalogEvent): Shard | null {
    if (this.all.length === 1) return this.all[0];
    switch (e.type) {
      case 'message':
        return this.ofMessage(e.message.id);
      case 'deliveries':
      case 'attempt':
      case 'dead':
        return this.ofMessage(e.messageId);
      case 'cancelled': {
        const parts = deliveryParts(e.deliveryId);
        return parts ? this.ofMessage(parts.messageId) : null;
      }
      default:
        return null;
    }
  }

  /** A new message id on `shard`. */
  newMessageId(shard: Shard): string {
    return newMessageId(shard.index);
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((s) => s.queues.close()));
  }
}
