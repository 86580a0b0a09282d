import type { Catalog } from '@herald/catalog';
import type { Shards } from '@herald/queue';
import { describe, expect, it } from 'vitest';
import { HeraldMetrics } from './herald-metrics';

// The gauges read the catalog and the queues at each scrape: stand-ins that answer at once.
const catalog = { deadLetters: { count: async () => 3 } } as unknown as Catalog;
const shards = { all: [] } as unknown as Shards;

function sample(text: string, line: string): number | undefined {
  const found = text.split('\n').filter((l) => l.startsWith(`${line} `));
  expect(found.length).toBeLessThanOrEqual(1);
  return found[0] === undefined ? undefined : Number(found[0].slice(line.length + 1));
}

describe('HeraldMetrics with a worker thread beside it', () => {
  it("adds the thread's counters and histograms to its own, once, and keeps the gauges its own", async () => {
    const main = new HeraldMetrics(catalog, shards);
    const thread = new HeraldMetrics(catalog, shards, { countersOnly: true });
    main.published(4);
    main.delivery('webhook', 'delivered', 0.002);
    thread.delivery('webhook', 'delivered', 0.002);
    thread.delivery('webhook', 'delivered', 0.3);
    thread.delivery('email', 'retry', 1);
    main.addSource(() => thread.snapshot());

    const { body } = await main.exposition();
    expect(sample(body, 'herald_messages_published_total')).toBe(4);
    expect(sample(body, 'herald_deliveries_total{protocol="webhook",outcome="delivered"}')).toBe(3);
    expect(sample(body, 'herald_deliveries_total{protocol="email",outcome="retry"}')).toBe(1);
    expect(sample(body, 'herald_delivery_attempt_duration_seconds_count{protocol="webhook"}')).toBe(3);
    expect(
      sample(body, 'herald_delivery_attempt_duration_seconds_bucket{le="0.005",protocol="webhook"}'),
    ).toBe(2);
    expect(sample(body, 'herald_dead_letters')).toBe(3);
    // The process's own series appear once, not once per thread.
    expect(body.match(/^herald_process_resident_memory_bytes /gm)).toHaveLength(1);
    expect(body.match(/^herald_process_start_time_seconds /gm)).toHaveLength(1);
  });

  it('keeps only counters and histograms in a thread', async () => {
    const thread = new HeraldMetrics(catalog, shards, { countersOnly: true });
    const names = (await thread.snapshot()).map((m) => m.name);
    expect(names).toContain('herald_deliveries_total');
    expect(names).not.toContain('herald_dead_letters');
    expect(names.some((n) => n.startsWith('herald_process_'))).toBe(false);
  });
});
