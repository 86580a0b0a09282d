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

  /**
   * The subscriptions among `ids` that exist: memory first, then one catalog read for those never
   * loaded (or changed since). Stale entries are served as they are while one read refreshes them, so
   * deliveries to known subscriptions go on, unhurried, through a catalog outage.
   */
  async subscriptions(ids: readonly string[]): Promise<Map<string, Subscription>> {
    const found = new Map<string, Subscription>();
    const missing: string[] = [];
    const stale: string[] = [];
    const now = Date.now();
    for (const id of new Set(ids)) {
      const hit = this.subscriptionEntries.get(id);
      if (!hit) missing.push(id);
      else {
        if (now - hit.loadedAt >= FRESH_MS && !this.refreshing.has(id)) stale.push(id);
        if (hit.value) found.set(id, hit.value);
      }
    }
    if (stale.length > 0) {
      for (const id of stale) this.refreshing.add(id);
      this.loadSubscriptions(stale)
        .catch((err: unknown) =>
          this.log.debug({ err: String(err) }, 'catalog unreadable; serving the last known subscriptions'),
        )
        .finally(() => {
          for (const id of stale) this.refreshing.delete(id);
        });
    }
    if (missing.length === 0) return found;
    for (const sub of await this.loadSubscriptions(missing)) found.set(sub.id, sub);
    return found;
  }

  /** Stale subscriptions being read again in the background. */
  private readonly refreshing = new Set<string>();

  private async loadSubscriptions(ids: string[]): Promise<Subscription[]> {
    const epoch = this.epoch;
    const startedAt = Date.now();
    const loaded = await this.catalog.subscriptions.getMany(ids);
    const byId = new Map(loaded.map((s) => [s.id, s]));
    if (epoch === this.epoch)
      for (const id of ids)
        this.subscriptionEntries.set(id, { value: byId.get(id) ?? null, loadedAt: startedAt });
    return loaded;
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

  /**
   * Fresh entries from memory; a stale one (older than FRESH_MS, never invalidated) is served at once
   * while one load per key refreshes it in the background, so a publish never waits on the catalog for
   * a topic it knows, and a failed refresh keeps the stale value. A missing entry (never loaded, or
   * invalidated by a change) is loaded, one load per key however many callers ask at once.
   */
  private async cached<T extends object | null | string>(
    cache: LRUCache<string, Entry<T>>,
    key: string,
    load: () => Promise<T>,
  ): Promise<T> {
    const hit = cache.get(key);
    if (hit && Date.now() - hit.loadedAt < FRESH_MS) return hit.value;
    const loading = this.load(cache, key, load);
    if (hit) {
      // The stale value keeps serving; the catalog's outage is reported by its own health checks.
      loading.catch((err: unknown) =>
        this.log.debug({ key, err: String(err) }, 'catalog unreadable; serving the last known value'),
      );
      return hit.value;
    }
    return loading;
  }

  /** Loads in flight, per cache and key, with the epoch they started in. */
  private readonly loading = new Map<object, Map<string, { epoch: number; promise: Promise<unknown> }>>();

  /** One load per key and epoch: a caller after an invalidation never joins a load that began before it. */
  private load<T extends object | null | string>(
    cache: LRUCache<string, Entry<T>>,
    key: string,
    load: () => Promise<T>,
  ): Promise<T> {
    let inFlight = this.loading.get(cache);
    if (!inFlight) {
      inFlight = new Map<string, { epoch: number; promise: Promise<unknown> }>();
      this.loading.set(cache, inFlight);
    }
    const epoch = this.epoch;
    const running = inFlight.get(key);
    if (running && running.epoch === epoch) return running.promise as Promise<T>;
    const startedAt = Date.now();
    const promise = load()
      .then((value) => {
        if (epoch === this.epoch) cache.set(key, { value, loadedAt: startedAt });
        return value;
      })
      .finally(() => {
        if (inFlight.get(key)?.promise === promise) inFlight.delete(key);
      });
    inFlight.set(key, { epoch, promise });
    return promise;
  }
}
