import { Catalog } from '@herald/catalog';
import {
  compileFilterPolicy,
  FilterPolicyError,
  type CompiledFilterPolicy,
  type MessagePayload,
  type Subscription,
  type Topic,
} from '@herald/core';
import { ChangeNotifier, MessageStore, type Change } from '@herald/queue';
import { LOGGER } from '@herald/runtime';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';

/** A safety net: changes are pushed by ChangeNotifier, this only bounds staleness if a notice is missed. */
const FRESH_MS = 30_000;
/** Topics with at most this many active subscriptions are fanned out at publish, from memory. */
export const INLINE_FANOUT_MAX = 1000;

interface Entry<T> {
  value: T;
  loadedAt: number;
}

/** A topic's active subscriptions, or `large` when it has more than INLINE_FANOUT_MAX. */
type TopicRoutes = Subscription[] | 'large';

/**
 * In-process caches of what publishing and delivering read (subscriptions, topics, a topic's active
 * subscriptions, payloads, compiled filters) so the hot path does not read the catalog per message.
 * Invalidated by change notices from any process; entries older than 30 s are read again, and when
 * the catalog cannot be read the last known value keeps serving, so publishing to known topics
 * survives a catalog outage.
 */
@Injectable()
export class CatalogCache implements OnModuleInit {
  private readonly subscriptionEntries = new LRUCache<string, Entry<Subscription | null>>({ max: 20_000 });
  private readonly topicEntries = new LRUCache<string, Entry<Topic | null>>({ max: 10_000 });
  /** Weighed by subscriptions held, so many small topics and a few large ones share one budget. */
  private readonly routeEntries = new LRUCache<string, Entry<TopicRoutes>>({
    maxSize: 100_000,
    sizeCalculation: (e) => (e.value === 'large' ? 1 : e.value.length + 1),
  });
  /** Grows on every invalidation: a load that started before one must not store what it read. */
  private epoch = 0;
  private readonly filters = new LRUCache<string, { version: number; compiled: CompiledFilterPolicy | null }>(
    { max: 50_000 },
  );

  constructor(
    private readonly catalog: Catalog,
    private readonly store: MessageStore,
    private readonly changes: ChangeNotifier,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.changes.onChange((c) => this.invalidate(c));
  }

  invalidate(change: Change): void {
    if (change.kind === 'api-key') return;
    this.epoch++;
    if (change.kind === 'subscription' && change.id === '*') {
      // Many subscriptions changed at once (an SMS number opted out): forget them all.
      this.subscriptionEntries.clear();
      this.routeEntries.clear();
    } else if (change.kind === 'subscription') {
      this.subscriptionEntries.delete(change.id);
      this.filters.delete(change.id);
      if (change.topic) this.routeEntries.delete(change.topic);
      else this.routeEntries.clear();
    } else {
      this.topicEntries.delete(change.id);
      this.routeEntries.delete(change.id);
      // A deleted topic took its subscriptions with it.
      for (const [id, entry] of this.subscriptionEntries.entries())
        if (entry.value?.topic === change.id) this.subscriptionEntries.delete(id);
    }
  }

  async subscription(id: string): Promise<Subscription | null> {
    return (await this.subscriptions([id])).get(id) ?? null;
  }

  /** The subscriptions among `ids` that exist: memory first, then one catalog read for the rest. */
  async subscriptions(ids: readonly string[]): Promise<Map<string, Subscription>> {
    const found = new Map<string, Subscription>();
    const missing: string[] = [];
    const now = Date.now();
    for (const id of new Set(ids)) {
      const hit = this.subscriptionEntries.get(id);
      if (hit && now - hit.loadedAt < FRESH_MS) {
        if (hit.value) found.set(id, hit.value);
      } else missing.push(id);
    }
    if (missing.length === 0) return found;
    const epoch = this.epoch;
    let loaded: Subscription[];
    try {
      loaded = await this.catalog.subscriptions.getMany(missing);
    } catch (err) {
      // Deliveries of known subscriptions go on during a catalog outage.
      const stale = missing.map((id) => this.subscriptionEntries.get(id));
      if (stale.some((e) => e === undefined)) throw err;
      for (const e of stale) if (e?.value) found.set(e.value.id, e.value);
      return found;
    }
    const byId = new Map(loaded.map((s) => [s.id, s]));
    for (const id of missing) {
      const sub = byId.get(id) ?? null;
      if (epoch === this.epoch) this.subscriptionEntries.set(id, { value: sub, loadedAt: now });
      if (sub) found.set(id, sub);
    }
    return found;
  }

  async topic(name: string): Promise<Topic | null> {
    return this.cached(this.topicEntries, name, () => this.catalog.topics.get(name));
  }

  /**
   * The topic's active subscriptions, for fanning out at publish; null when the topic is too large
   * for that (its fan-out pages through the catalog in a job).
   */
  async topicSubscriptions(topic: string): Promise<Subscription[] | null> {
    const routes = await this.cached(this.routeEntries, topic, async () => {
      const page = await this.catalog.subscriptions.listActivePage(topic, null, INLINE_FANOUT_MAX + 1);
      return page.length > INLINE_FANOUT_MAX ? 'large' : page;
    });
    return routes === 'large' ? null : routes;
  }

  /** The message payload: memory, then Redis, then the catalog (after the Redis copy expired). */
  async payload(id: string): Promise<MessagePayload | null> {
    return (await this.payloads([id])).get(id) ?? null;
  }

  async payloads(ids: readonly string[]): Promise<Map<string, MessagePayload>> {
    const found = await this.store.getPayloads(ids);
    for (const id of new Set(ids)) {
      if (found.has(id)) continue;
      const old = await this.catalog.messages.getPayload(id);
      if (old) found.set(id, old);
    }
    return found;
  }

  /** The subscription's compiled filter policy, compiled once per version; null when it has none. */
  filter(sub: Subscription): CompiledFilterPolicy | null {
    const version = sub.updatedAt.getTime();
    const hit = this.filters.get(sub.id);
    if (hit && hit.version === version) return hit.compiled;
    const compiled = sub.filterPolicy ? this.compile(sub) : null;
    this.filters.set(sub.id, { version, compiled });
    return compiled;
  }

  /**
   * A stored policy the validator refuses (saved by an older release, or edited in the database) must
   * not stop the whole fan-out: it matches nothing, and the log says which subscription to fix.
   */
  private compile(sub: Subscription): CompiledFilterPolicy {
    try {
      return compileFilterPolicy(sub.filterPolicy ?? {}, sub.filterPolicyScope);
    } catch (err) {
      this.log.error(
        { subscriptionId: sub.id, errors: err instanceof FilterPolicyError ? err.errors : String(err) },
        'subscription has an invalid filter policy; it receives nothing until the policy is fixed',
      );
      return { scope: sub.filterPolicyScope, matches: () => false };
    }
  }

  /** Fresh entries from memory; stale or missing ones loaded, the stale one kept when loading fails. */
  private async cached<T extends object | null | string>(
    cache: LRUCache<string, Entry<T>>,
    key: string,
    load: () => Promise<T>,
  ): Promise<T> {
    const hit = cache.get(key);
    const now = Date.now();
    if (hit && now - hit.loadedAt < FRESH_MS) return hit.value;
    const epoch = this.epoch;
    try {
      const value = await load();
      if (epoch === this.epoch) cache.set(key, { value, loadedAt: now });
      return value;
    } catch (err) {
      if (hit) return hit.value;
      throw err;
    }
  }
}
