import type { CatalogEvent } from '@herald/catalog';
import { deliveryParts } from '@herald/core';
import type { RedisClient } from './redis-connection';

export const RECORDER_GROUP = 'recorder';

export function catalogEventStreamKey(prefix: string): string {
  return `${prefix}:catalog-events`;
}

/** The text of a stream entry: the events as JSON (see encodeEventParts). */
export function encodeEvents(events: readonly CatalogEvent[]): string {
  return encodeEventParts(events)[0];
}

/**
 * The text of a stream entry in parts, for a writer that holds the payloads' JSON already: the events
 * as JSON, with what an attempt's delivery id already says (its message and subscription ids) left
 * out. A message whose id is in `payloadRefs` (message id → a reference, such as the position of its
 * payload among a script's arguments) is not serialised again: its place is left to be filled in.
 * The parts alternate: text, a reference, text, …, text; so, without references, there is one part.
 */
export function encodeEventParts(
  events: readonly CatalogEvent[],
  payloadRefs?: ReadonlyMap<string, string>,
): string[] {
  const parts: string[] = [];
  let text = '[';
  events.forEach((e, i) => {
    if (i > 0) text += ',';
    const ref = e.type === 'message' ? payloadRefs?.get(e.message.id) : undefined;
    if (e.type === 'attempt') {
      const { messageId: _m, subscriptionId: _s, ...rest } = e;
      const ids = deliveryParts(e.deliveryId);
      text += JSON.stringify(ids?.messageId === _m && ids.subscriptionId === _s ? rest : e);
    } else if (e.type === 'message' && ref !== undefined) {
      const { message: _message, ...rest } = e;
      parts.push(`${text}{"message":`, ref);
      text = `,${JSON.stringify(rest).slice(1)}`;
    } else {
      text += JSON.stringify(e);
    }
  });
  parts.push(`${text}]`);
  return parts;
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
