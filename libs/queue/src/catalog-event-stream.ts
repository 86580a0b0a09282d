import type { CatalogEvent } from '@herald/catalog';
import { deliveryParts } from '@herald/core';
import type { RedisClient } from './redis-connection';

export const RECORDER_GROUP = 'recorder';

export function catalogEventStreamKey(prefix: string): string {
  return `${prefix}:catalog-events`;
}

/**
 * The text of a stream entry: the events as JSON, with what an attempt's delivery id already says
 * (its message and subscription ids) left out, and with payloads already serialised spliced in
 * (`preserialised`: message id → the payload's JSON), so the hot path serialises nothing twice.
 */
export function encodeEvents(
  events: readonly CatalogEvent[],
  preserialised?: ReadonlyMap<string, string>,
): string {
  const parts: string[] = [];
  for (const e of events) {
    if (e.type === 'attempt') {
      const { messageId: _m, subscriptionId: _s, ...rest } = e;
      const parts2 = deliveryParts(e.deliveryId);
      parts.push(JSON.stringify(parts2?.messageId === _m && parts2.subscriptionId === _s ? rest : e));
    } else if (e.type === 'message' && preserialised?.has(e.message.id)) {
      const { message, ...rest } = e;
      const json = JSON.stringify(rest);
      parts.push(`{"message":${preserialised.get(message.id)},${json.slice(1)}`);
    } else {
      parts.push(JSON.stringify(e));
    }
  }
  return `[${parts.join(',')}]`;
}

/** The events of a stream entry (see encodeEvents). */
export function decodeEvents(text: string): CatalogEvent[] {
  const events = JSON.parse(text) as CatalogEvent[];
  for (const e of events) {
    if (e.type === 'attempt' && e.messageId === undefined) {
      const parts = deliveryParts(e.deliveryId);
      if (parts) Object.assign(e, parts);
    }
  }
  return events;
}

/**
 * Workers never write the catalog on the delivery hot path: they append outcome events to a Redis
 * stream (durable with AOF, pipelined), and the CatalogRecorder writes them to PostgreSQL in batches.
 */
export class CatalogEventStream {
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.key = catalogEventStreamKey(prefix);
  }

  async emit(...events: CatalogEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.redis.xadd(this.key, '*', 'e', encodeEvents(events));
  }

  /** Entries not yet written to the catalog (for readiness and tests). */
  async backlog(): Promise<number> {
    return this.redis.xlen(this.key);
  }
}
