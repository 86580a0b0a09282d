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
import type { Logger } from 'pino';

interface Entry<T> {
  value: T;
  expires: number;
}

/** A safety net: changes are pushed by ChangeNotifier, this only bounds staleness if a notice is missed. */
const TTL_MS = 30_000;
const MAX_ENTRIES = 50_000;
const PAYLOAD_CACHE = 2_000;

/**
 * In-process caches of what every delivery reads (subscription, topic, payload, compiled filter) so the
 * hot path does not read the catalog per delivery. Invalidated by change notices from any process.
 */
@Injectable()
export class CatalogCache implements OnModuleInit {
  private readonly subscriptions = new Map<string, Entry<Subscription | null>>();
  private readonly topics = new Map<string, Entry<Topic | null>>();
  private readonly filters = new Map<string, { updatedAt: number; compiled: CompiledFilterPolicy | null }>();
  private readonly payloads = new Map<string, MessagePayload>();

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
    if (change.kind === 'subscription' && change.id === '*') {
      // Many subscriptions changed at once (an SMS number opted out): forget them all.
      this.subscriptions.clear();
    } else if (change.kind === 'subscription') {
      this.subscriptions.delete(change.id);
      this.filters.delete(change.id);
    } else {
      this.topics.delete(change.id);
      // A deleted topic took its subscriptions with it.
      for (const [id, entry] of this.subscriptions)
        if (entry.value?.topic === change.id) this.subscriptions.delete(id);
    }
  }

  async subscription(id: string): Promise<Subscription | null> {
    return this.cached(this.subscriptions, id, () => this.catalog.subscriptions.get(id));
  }

  async topic(name: string): Promise<Topic | null> {
    return this.cached(this.topics, name, () => this.catalog.topics.get(name));
  }

  /** The message payload: memory, then Redis, then the catalog (after the Redis copy expired). */
  async payload(id: string): Promise<MessagePayload | null> {
    const hit = this.payloads.get(id);
    if (hit) return hit;
    const payload = (await this.store.getPayload(id)) ?? (await this.catalog.messages.getPayload(id));
    if (payload) {
      if (this.payloads.size >= PAYLOAD_CACHE)
        this.payloads.delete(this.payloads.keys().next().value as string);
      this.payloads.set(id, payload);
    }
    return payload;
  }

  /** The subscription's compiled filter policy, compiled once per version; null when it has none. */
  filter(sub: Subscription): CompiledFilterPolicy | null {
    const version = sub.updatedAt.getTime();
    const hit = this.filters.get(sub.id);
    if (hit && hit.updatedAt === version) return hit.compiled;
    const compiled = sub.filterPolicy ? this.compile(sub) : null;
    if (this.filters.size >= MAX_ENTRIES) this.filters.clear();
    this.filters.set(sub.id, { updatedAt: version, compiled });
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

  private async cached<T>(map: Map<string, Entry<T>>, key: string, load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = map.get(key);
    if (hit && hit.expires > now) return hit.value;
    const value = await load();
    if (map.size >= MAX_ENTRIES) map.clear();
    map.set(key, { value, expires: now + TTL_MS });
    return value;
  }
}
