import type { CatalogEvent } from '@herald/catalog';
import type { RedisClient } from './redis-connection';
import { hostname } from 'node:os';
import { catalogEventStreamKey, decodeEvents, RECORDER_GROUP } from './catalog-event-stream';

export interface CatalogWriter {
  applyEvents(events: CatalogEvent[]): Promise<void>;
}

export interface RecorderLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

type StreamEntry = [id: string, fields: string[]];

const BATCH = 500;
const BLOCK_MS = 200;
/**
 * A batch that is still small waits this long for more entries: every catalog transaction has a
 * fixed cost, so fewer, larger ones pay, and records still trail deliveries by well under a second.
 */
const COALESCE_MS = 100;
/** Entries a consumer read but did not acknowledge for this long are taken over (their consumer died). */
const DEFAULT_CLAIM_IDLE_MS = 30_000;
/** At most this many batches are written on stop, so a stopping recorder does not chase other workers' events. */
const FLUSH_MAX_BATCHES = 10;

/**
 * Reads catalog events from the Redis stream in batches and applies them in one transaction each.
 * An entry is acknowledged and deleted only after the catalog accepted it, so a crash loses nothing;
 * applyEvents is idempotent, so replaying a batch is harmless. Any number of recorders may run.
 */
export class CatalogRecorder {
  private readonly key: string;
  private readonly consumer = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  private running = false;
  private loop: Promise<void> | null = null;
  private lastClaim = 0;

  constructor(
    /** A dedicated connection: XREADGROUP blocks it. */
    private readonly redis: RedisClient,
    prefix: string,
    private readonly catalog: CatalogWriter,
    private readonly log: RecorderLogger,
    /**
     * How long an entry read by another recorder stays unacknowledged before this one takes it over;
     * the workers pass their job lock duration, so a dead worker's outcomes are recorded as soon as
     * its jobs run again. Taking over from a slow but live recorder only replays idempotent events.
     */
    private readonly claimIdleMs = DEFAULT_CLAIM_IDLE_MS,
  ) {
    this.key = catalogEventStreamKey(prefix);
  }

  async start(): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.key, RECORDER_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!(err instanceof Error) || !err.message.includes('BUSYGROUP')) throw err;
    }
    this.running = true;
    this.loop = this.run();
  }

  /** Stops reading, then writes what the stream already holds (a draining worker's last outcomes). */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.flush();
  }

  /** The loop may stop just before reading the last events: read what is there now, without blocking. */
  private async flush(): Promise<void> {
    try {
      for (const cursor of ['0', '>'] as const) {
        for (let batch = 0; batch < FLUSH_MAX_BATCHES; batch++) {
          const entries = await this.read(cursor, false);
          if (entries.length === 0) break;
          await this.apply(entries);
        }
      }
    } catch (err) {
      // Nothing is lost: the entries stay in the stream for the next recorder.
      this.log.error({ err }, 'catalog recorder could not write its last events before stopping');
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    // Our own unacknowledged entries first (from a failed batch), then new ones.
    let cursor: '0' | '>' = '0';
    while (this.running) {
      try {
        if (Date.now() - this.lastClaim > this.claimIdleMs / 2) await this.claimAbandoned();
        const entries = await this.read(cursor);
        if (entries.length === 0) {
          if (cursor === '0') cursor = '>';
          continue;
        }
        if (cursor === '>') await this.gather(entries);
        await this.apply(entries);
        failures = 0;
      } catch (err) {
        failures++;
        cursor = '0';
        this.log.error({ err, failures }, 'catalog recorder could not write a batch; retrying');
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** Math.min(failures, 6))));
      }
    }
  }

  /** Adds to `entries` what arrives within COALESCE_MS, up to a full batch. */
  private async gather(entries: StreamEntry[]): Promise<void> {
    const until = Date.now() + COALESCE_MS;
    while (this.running && entries.length < BATCH) {
      const left = until - Date.now();
      if (left <= 0) return;
      const more = await this.read('>', true, left, BATCH - entries.length);
      if (more.length === 0) return;
      entries.push(...more);
    }
  }

  private async read(
    cursor: '0' | '>',
    block = cursor === '>',
    blockMs = BLOCK_MS,
    count = BATCH,
  ): Promise<StreamEntry[]> {
    const args: Array<string | number> = ['GROUP', RECORDER_GROUP, this.consumer, 'COUNT', count];
    if (block) args.push('BLOCK', Math.max(1, Math.round(blockMs)));
    args.push('STREAMS', this.key, cursor);
    const res = (await (this.redis.xreadgroup as (...a: Array<string | number>) => Promise<unknown>)(
      ...args,
    )) as Array<[string, StreamEntry[]]> | null;
    return res?.[0]?.[1] ?? [];
  }

  private async claimAbandoned(): Promise<void> {
    this.lastClaim = Date.now();
    const res = (await this.redis.xautoclaim(
      this.key,
      RECORDER_GROUP,
      this.consumer,
      this.claimIdleMs,
      '0',
      'COUNT',
      BATCH,
    )) as [string, StreamEntry[], string[]];
    const entries = res[1].filter((e) => e[1] !== null);
    if (entries.length > 0) await this.apply(entries);
  }

  private async apply(entries: StreamEntry[]): Promise<void> {
    const events: CatalogEvent[] = [];
    for (const [id, fields] of entries) {
      const raw = fields?.[1];
      try {
        events.push(...decodeEvents(raw ?? '[]'));
      } catch (err) {
        // A corrupt entry cannot be applied ever; keep the rest flowing and say so.
        this.log.error({ err, entryId: id }, 'dropping unreadable catalog event entry');
      }
    }
    await this.catalog.applyEvents(events);
    const ids = entries.map((e) => e[0]);
    await this.redis
      .multi()
      .xack(this.key, RECORDER_GROUP, ...ids)
      .xdel(this.key, ...ids)
      .exec();
  }
}
