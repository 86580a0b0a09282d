import type { CatalogEvent } from '@herald/catalog';
import type Redis from 'ioredis';

export const RECORDER_GROUP = 'recorder';

export function catalogEventStreamKey(prefix: string): string {
  return `${prefix}:catalog-events`;
}

/**
 * Workers never write the catalog on the delivery hot path: they append outcome events to a Redis
 * stream (durable with AOF, pipelined), and the CatalogRecorder writes them to PostgreSQL in batches.
 */
export class CatalogEventStream {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.key = catalogEventStreamKey(prefix);
  }

  async emit(...events: CatalogEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.redis.xadd(this.key, '*', 'e', JSON.stringify(events));
  }

  /** Entries not yet written to the catalog (for readiness and tests). */
  async backlog(): Promise<number> {
    return this.redis.xlen(this.key);
  }
}
