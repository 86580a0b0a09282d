import { Catalog } from '@herald/catalog';
import type { HeraldConfig } from '@herald/config';
import {
  compileFilterPolicy,
  FilterPolicyError,
  RefreshingCache,
  type CompiledFilterPolicy,
  type MessagePayload,
  type Subscription,
  type Topic,
} from '@herald/core';
import { ChangeNotifier, MessageStore, type Change } from '@herald/queue';
import { HERALD_CONFIG, LOGGER } from '@herald/runtime';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';

/** Topics with at most this many active subscriptions are fanned out at publish, from memory. */
export const INLINE_FANOUT_MAX = 1000;

/** A topic's active subscriptions, or `large` when it has more than INLINE_FANOUT_MAX. */
type TopicRoutes = Subscription[] | 'large';

/**
 * In-process caches of what publishing and delivering read (subscriptions, topics, a topic's active
 * subscriptions, payloads, compiled filters) so the hot path does not read the catalog per message.
 * Invalidated by change notices from any process; entries older than CATALOG_CACHE_FRESH_MS (30 s, a
 * safety net should a notice be missed) are read again, and when the catalog cannot be read the last
 * known value keeps serving, so publishing to known topics survives a catalog outage.
 */
@Injectable()
export class CatalogCache implements OnModuleInit {
  private readonly subscriptionEntries: RefreshingCache<Subscription | null>;
  private readonly topicEntries: RefreshingCache<Topic | null>;
  /** Weighed by subscriptions held, so many small topics and a few large ones share one budget. */
  private readonly routeEntries: RefreshingCache<TopicRoutes>;
  /** Stale subscriptions being read again in the background. */
  private readonly refreshing = new Set<string>();
  private readonly filters = new LRUCache<string, { version: number; compiled: CompiledFilterPolicy }>({
    max: 50_000,
  });

  constructor(
    private readonly catalog: Catalog,
    private readonly store: MessageStore,
    private readonly changes: ChangeNotifier,
    @Inject(LOGGER) private readonly log: Logger,
    @Inject(HERALD_CONFIG) config: Pick<HeraldConfig, 'cacheFreshMs'>,
  ) {
    const freshMs = config.cacheFreshMs.catalog;
    const onRefreshError = (key: string, err: unknown) => this.refreshFailed(key, err);
    this.subscriptionEntries = new RefreshingCache({ freshMs, max: 20_000 });
    this.topicEntries = new RefreshingCache({ freshMs, max: 10_000, onRefreshError });
    this.routeEntries = new RefreshingCache({
      freshMs,
      maxSize: 100_000,
      sizeOf: (routes) => (routes === 'large' ? 1 : routes.length + 1),
      onRefreshError,
    });
  }

  async onModuleInit(): Promise<void> {
    await this.changes.onChange((c) => this.invalidate(c));
  }

  invalidate(change: Change): void {
    if (change.kind === 'api-key') return;
    if (change.kind === 'subscription' && change.id === '*') {
      // Many subscriptions changed at once (an SMS number opted out): forget them all.
      this.subscriptionEntries.invalidate();
      this.routeEntries.invalidate();
    } else if (change.kind === 'subscription') {
      this.subscriptionEntries.invalidate(change.id);
      this.filters.delete(change.id);
      this.routeEntries.invalidate(change.topic ?? undefined);
    } else {
      this.topicEntries.invalidate(change.id);
      this.routeEntries.invalidate(change.id);
      // A deleted topic took its subscriptions with it.
      this.subscriptionEntries.invalidateWhere((sub) => sub?.topic === change.id);
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
    for (const id of new Set(ids)) {
      const hit = this.subscriptionEntries.peek(id);
      if (!hit) missing.push(id);
      else {
        if (hit.stale && !this.refreshing.has(id)) stale.push(id);
        if (hit.value) found.set(id, hit.value);
      }
    }
    if (stale.length > 0) {
      for (const id of stale) this.refreshing.add(id);
      this.loadSubscriptions(stale)
        .catch((err: unknown) => this.refreshFailed('subscriptions', err))
        .finally(() => {
          for (const id of stale) this.refreshing.delete(id);
        });
    }
    if (missing.length === 0) return found;
    for (const sub of await this.loadSubscriptions(missing)) found.set(sub.id, sub);
    return found;
  }

  private async loadSubscriptions(ids: string[]): Promise<Subscription[]> {
    const epoch = this.subscriptionEntries.currentEpoch;
    const startedAt = Date.now();
    const loaded = await this.catalog.subscriptions.getMany(ids);
    const byId = new Map(loaded.map((s) => [s.id, s]));
    for (const id of ids) this.subscriptionEntries.store(id, byId.get(id) ?? null, epoch, startedAt);
    return loaded;
  }

  async topic(name: string): Promise<Topic | null> {
    return (await this.topicEntries.get(name, () => this.catalog.topics.get(name))) ?? null;
  }

  /**
   * The topic's active subscriptions, for fanning out at publish; null when the topic is too large
   * for that (its fan-out pages through the catalog in a job).
   */
  async topicSubscriptions(topic: string): Promise<Subscription[] | null> {
    const routes = await this.routeEntries.get(topic, async () => {
      const page = await this.catalog.subscriptions.listActivePage(topic, null, INLINE_FANOUT_MAX + 1);
      return page.length > INLINE_FANOUT_MAX ? 'large' : page;
    });
    return routes === 'large' || routes === undefined ? null : routes;
  }

  /** The stale value keeps serving; the catalog's outage is reported by its own health checks. */
  private refreshFailed(key: string, err: unknown): void {
    this.log.debug({ key, err: String(err) }, 'catalog unreadable; serving the last known value');
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
    // Most subscriptions have none: they take no entry (a 100,000-subscription fan-out would fill the
    // cache with nulls and push out the policies that are worth keeping).
    if (!sub.filterPolicy) return null;
    const version = sub.updatedAt.getTime();
    const hit = this.filters.get(sub.id);
    if (hit && hit.version === version) return hit.compiled;
    const compiled = this.compile(sub);
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
}
