import { Catalog } from '@herald/catalog';
import type { Protocol } from '@herald/core';
import { Shards } from '@herald/queue';
import { Injectable } from '@nestjs/common';
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * What became of one delivery attempt, or of a delivery that ended without one: `retry` (failed, tried
 * again later), `failed` (refused for good: dead-lettered at once), `dead` (dead-lettered otherwise:
 * retries exhausted, payload expired, job abandoned). Every dead letter is counted once, as `failed`
 * or `dead`.
 */
export type DeliveryMetricOutcome = 'delivered' | 'retry' | 'failed' | 'dead';

/** Another thread's counters and histograms, as `Registry.getMetricsAsJSON()` gives them. */
export type MetricsSnapshot = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** What HeraldMetrics keeps: everything (a process), or only what a worker thread counts. */
export interface HeraldMetricsOptions {
  /**
   * A worker thread beside the API's: only its own counters and histograms, which the process's
   * registry adds to its own (the process, runtime, queue and catalog gauges are the process's).
   */
  countersOnly?: boolean;
}

/** The dead-letter count is a table scan: read it at most this often, whatever the scrape interval. */
const DEAD_LETTERS_CACHE_MS = 5000;

/**
 * Every Herald metric, in one registry per process. Labels are bounded sets only (protocol, outcome,
 * queue, state, method, route pattern, status): topic names, subscription ids and endpoints are
 * unbounded, and one time series each would swamp Prometheus.
 */
@Injectable()
export class HeraldMetrics {
  readonly registry = new Registry();
  private readonly publishedTotal: Counter;
  private readonly deliveries: Counter<'protocol' | 'outcome'>;
  private readonly attemptSeconds: Histogram<'protocol'>;
  private readonly latencySeconds: Histogram<'protocol'>;
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  private readonly httpSeconds: Histogram<'method' | 'route' | 'status'>;
  private deadLetters = { value: 0, readAt: 0 };
  private readonly sources: (() => Promise<MetricsSnapshot>)[] = [];

  constructor(
    private readonly catalog: Catalog,
    shards: Shards,
    options: HeraldMetricsOptions = {},
  ) {
    const registers = [this.registry];
    if (!options.countersOnly) collectDefaultMetrics({ register: this.registry, prefix: 'herald_' });
    this.publishedTotal = new Counter({
      name: 'herald_messages_published_total',
      help: 'Messages accepted for delivery (idempotent repeats not counted)',
      registers,
    });
    this.deliveries = new Counter({
      name: 'herald_deliveries_total',
      help: 'Delivery attempts by outcome: delivered, retry, failed (refused for good), dead (retries exhausted)',
      labelNames: ['protocol', 'outcome'],
      registers,
    });
    this.attemptSeconds = new Histogram({
      name: 'herald_delivery_attempt_duration_seconds',
      help: 'Time one delivery attempt took, from send to answer',
      labelNames: ['protocol'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.latencySeconds = new Histogram({
      name: 'herald_delivery_latency_seconds',
      help: 'Time from publish to delivered, retries included',
      labelNames: ['protocol'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    });
    this.httpRequests = new Counter({
      name: 'herald_http_requests_total',
      help: 'HTTP requests answered, by route pattern',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpSeconds = new Histogram({
      name: 'herald_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by route pattern',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    if (options.countersOnly) return;
    const deadLetterCount = () => this.deadLetterCount();
    new Gauge({
      name: 'herald_dead_letters',
      help: 'Dead letters waiting to be redriven or deleted',
      registers,
      async collect() {
        this.set(await deadLetterCount());
      },
    });
    new Gauge({
      name: 'herald_catalog_backlog',
      help: 'Outcome events written by workers and not yet recorded in the catalog',
      registers,
      async collect() {
        // Redis down: no value rather than a failed scrape (the other metrics still say something).
        const backlog = await Promise.all(shards.all.map((s) => s.events.backlog()))
          .then((n) => n.reduce((a, b) => a + b, 0))
          .catch(() => null);
        if (backlog === null) this.reset();
        else this.set(backlog);
      },
    });
    new Gauge({
      name: 'herald_queue_jobs',
      help: 'Jobs in each queue by state',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        // Summed over the shards: a queue is one series whatever HERALD_SHARDS says.
        const totals = new Map<string, Record<string, number>>();
        for (const shard of shards.all) {
          for (const q of shard.queues.allQueues()) {
            const counts = await q
              .getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized')
              .catch(() => null);
            const sum = totals.get(q.name) ?? {};
            for (const [state, n] of Object.entries(counts ?? {})) sum[state] = (sum[state] ?? 0) + n;
            totals.set(q.name, sum);
          }
        }
        for (const [queue, counts] of totals)
          for (const [state, n] of Object.entries(counts)) this.set({ queue, state }, n);
      },
    });
  }

  /** Messages accepted (not idempotent repeats). */
  published(n = 1): void {
    this.publishedTotal.inc(n);
  }

  /**
   * One delivery outcome. `attemptSeconds` when an attempt was made; `publishedAt` (the message's ISO
   * time) gives the publish-to-delivered latency of a delivered one.
   */
  delivery(
    protocol: Protocol,
    outcome: DeliveryMetricOutcome,
    attemptSeconds?: number,
    publishedAt?: string,
  ): void {
    this.deliveries.inc({ protocol, outcome });
    if (attemptSeconds !== undefined) this.attemptSeconds.observe({ protocol }, attemptSeconds);
    if (outcome === 'delivered' && publishedAt) {
      const latency = (Date.now() - Date.parse(publishedAt)) / 1000;
      if (Number.isFinite(latency)) this.latencySeconds.observe({ protocol }, Math.max(0, latency));
    }
  }

  /** One answered HTTP request; `route` is the route's pattern (`/v1/topics/:name`), never the raw path. */
  httpRequest(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.httpRequests.inc(labels);
    this.httpSeconds.observe(labels, seconds);
  }

  /** Adds another thread's counts (a worker thread's) to every exposition from now on. */
  addSource(source: () => Promise<MetricsSnapshot>): void {
    this.sources.push(source);
  }

  /** This thread's counters and histograms (what a worker thread sends the process's registry). */
  snapshot(): Promise<MetricsSnapshot> {
    return this.registry.getMetricsAsJSON();
  }

  /** The Prometheus text exposition of every metric, with the counts of every added source summed in. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    if (this.sources.length === 0)
      return { contentType: this.registry.contentType, body: await this.registry.metrics() };
    const own = await this.snapshot();
    const others = await Promise.all(this.sources.map((source) => source()));
    const counted = new Set(others.flat().map((m) => m.name));
    // Series another thread counts too are summed; the rest (process, runtime, gauges) are this one's.
    for (const m of own) m.aggregator = counted.has(m.name) ? 'sum' : 'first';
    for (const m of others.flat()) m.aggregator = 'sum';
    const merged = AggregatorRegistry.aggregate([own, ...others]);
    return { contentType: this.registry.contentType, body: await merged.metrics() };
  }

  private async deadLetterCount(): Promise<number> {
    if (Date.now() - this.deadLetters.readAt >= DEAD_LETTERS_CACHE_MS) {
      try {
        this.deadLetters = { value: await this.catalog.deadLetters.count(), readAt: Date.now() };
      } catch {
        // The catalog is down: keep the last value; /readyz says what is wrong.
      }
    }
    return this.deadLetters.value;
  }
}
