import type { CatalogEvent } from '@herald/catalog';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { CatalogEventStream } from './catalog-event-stream';
import { CatalogRecorder, type CatalogWriter } from './catalog-recorder';

const silent = { warn: () => undefined, error: () => undefined };

const cancelled = (n: number): CatalogEvent => ({
  type: 'cancelled',
  deliveryId: `dlv_${n}`,
  run: 1,
  reason: 'test',
});

/** A catalog that fails while `down` is set, and tells when it has applied a batch. */
class FlakyCatalog implements CatalogWriter {
  down = false;
  applied: CatalogEvent[] = [];
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  async applyEvents(events: CatalogEvent[]): Promise<void> {
    if (this.down) throw new Error('catalog unavailable');
    this.applied.push(...events);
    this.waiters = this.waiters.filter((w) => (this.applied.length >= w.n ? (w.resolve(), false) : true));
  }

  waitFor(n: number): Promise<void> {
    if (this.applied.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
}

/** A catalog whose first write waits until the test releases it. */
class GatedCatalog extends FlakyCatalog {
  release!: () => void;
  /** Resolves when the first write has started. */
  readonly busy: Promise<void>;
  private started!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.release = resolve));

  constructor() {
    super();
    this.busy = new Promise((resolve) => (this.started = resolve));
  }

  override async applyEvents(events: CatalogEvent[]): Promise<void> {
    this.started();
    await this.gate;
    return super.applyEvents(events);
  }
}

describe('CatalogRecorder', () => {
  let redis: Redis;
  const prefix = `{r${randomBytes(4).toString('hex')}}`;

  beforeAll(() => {
    redis = new Redis(inject('redisUrl'));
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('writes every event in order and empties the stream; a failing catalog loses nothing', async () => {
    const stream = new CatalogEventStream(redis, prefix);
    const catalog = new FlakyCatalog();
    catalog.down = true;
    const recorder = new CatalogRecorder(redis.duplicate(), prefix, catalog, silent);
    await recorder.start();
    for (let i = 0; i < 10; i++) await stream.emit(cancelled(i), cancelled(100 + i));
    expect(await stream.backlog()).toBeGreaterThan(0);
    catalog.down = false;
    await catalog.waitFor(20);
    await recorder.stop();
    expect(catalog.applied.map((e) => (e.type === 'cancelled' ? e.deliveryId : ''))).toEqual(
      Array.from({ length: 10 }, (_, i) => [`dlv_${i}`, `dlv_${100 + i}`]).flat(),
    );
    expect(await stream.backlog()).toBe(0);
  });

  it('on stop, still writes what was emitted while it was busy (a draining worker loses no outcome)', async () => {
    const own = `{r${randomBytes(4).toString('hex')}}`;
    const stream = new CatalogEventStream(redis, own);
    const catalog = new GatedCatalog();
    const recorder = new CatalogRecorder(redis.duplicate(), own, catalog, silent);
    await recorder.start();
    await stream.emit(cancelled(300));
    await catalog.busy;
    await stream.emit(cancelled(301));
    const stopping = recorder.stop();
    catalog.release();
    await stopping;
    expect(catalog.applied.map((e) => (e.type === 'cancelled' ? e.deliveryId : ''))).toEqual([
      'dlv_300',
      'dlv_301',
    ]);
    expect(await stream.backlog()).toBe(0);
    await redis.del(`${own}:catalog-events`);
  });

  it('picks up what a stopped recorder left in the stream', async () => {
    const stream = new CatalogEventStream(redis, prefix);
    for (let i = 0; i < 5; i++) await stream.emit(cancelled(200 + i));
    const catalog = new FlakyCatalog();
    const recorder = new CatalogRecorder(redis.duplicate(), prefix, catalog, silent);
    await recorder.start();
    await catalog.waitFor(5);
    await recorder.stop();
    expect(catalog.applied).toHaveLength(5);
  });
});
