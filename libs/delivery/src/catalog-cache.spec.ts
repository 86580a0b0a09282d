import type { Catalog } from '@herald/catalog';
import type { Subscription, Topic } from '@herald/core';
import type { ChangeNotifier, MessageStore } from '@herald/queue';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CatalogCache } from './catalog-cache';

/** A catalog whose topic reads the test answers by hand, one deferred promise per read. */
function fakeCatalog() {
  const reads: Array<{ name: string; resolve: (t: Topic | null) => void; reject: (e: Error) => void }> = [];
  const catalog = {
    topics: {
      get: (name: string) =>
        new Promise<Topic | null>((resolve, reject) => reads.push({ name, resolve, reject })),
    },
  } as unknown as Catalog;
  return { catalog, reads };
}

function topic(name: string, displayName: string): Topic {
  return { name, displayName } as unknown as Topic;
}

function cacheOver(catalog: Catalog): CatalogCache {
  return new CatalogCache(
    catalog,
    {} as MessageStore,
    { onChange: async () => undefined } as unknown as ChangeNotifier,
    pino({ level: 'silent' }),
    { cacheFreshMs: { catalog: 30_000, apiKeys: 60_000 } },
  );
}

describe('CatalogCache', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('loads a missing topic once however many callers ask at once', async () => {
    const { catalog, reads } = fakeCatalog();
    const cache = cacheOver(catalog);
    const asked = Promise.all([cache.topic('t'), cache.topic('t'), cache.topic('t')]);
    expect(reads).toHaveLength(1);
    reads[0].resolve(topic('t', 'one'));
    expect((await asked).map((t) => t?.displayName)).toEqual(['one', 'one', 'one']);
    expect((await cache.topic('t'))?.displayName).toBe('one');
    expect(reads).toHaveLength(1);
  });

  it('serves a stale topic at once while it refreshes, and keeps it when the catalog fails', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { catalog, reads } = fakeCatalog();
    const cache = cacheOver(catalog);
    const first = cache.topic('t');
    reads[0].resolve(topic('t', 'one'));
    await first;

    vi.setSystemTime(Date.now() + 31_000);
    // The refresh never answers (a hung catalog): the caller is not kept waiting for it.
    expect((await cache.topic('t'))?.displayName).toBe('one');
    expect(reads).toHaveLength(2);
    // Asking again while that refresh runs starts no second one.
    expect((await cache.topic('t'))?.displayName).toBe('one');
    expect(reads).toHaveLength(2);
    reads[1].reject(new Error('catalog down'));
    await vi.waitFor(async () => {
      expect((await cache.topic('t'))?.displayName).toBe('one');
      expect(reads).toHaveLength(3);
    });
    reads[2].resolve(topic('t', 'two'));
    await vi.waitFor(async () => expect((await cache.topic('t'))?.displayName).toBe('two'));
  });

  it('never answers a caller after a change with a load that began before it', async () => {
    const { catalog, reads } = fakeCatalog();
    const cache = cacheOver(catalog);
    const before = cache.topic('t');
    cache.invalidate({ kind: 'topic', id: 't' });
    const after = cache.topic('t');
    expect(reads).toHaveLength(2);
    reads[0].resolve(topic('t', 'old'));
    reads[1].resolve(topic('t', 'new'));
    expect((await before)?.displayName).toBe('old');
    expect((await after)?.displayName).toBe('new');
    // The older load did not overwrite what the newer one stored.
    expect((await cache.topic('t'))?.displayName).toBe('new');
    expect(reads).toHaveLength(2);
  });

  it('fails a first load of a topic it never knew, for the caller to answer 503', async () => {
    const { catalog, reads } = fakeCatalog();
    const cache = cacheOver(catalog);
    const asked = cache.topic('t');
    reads[0].reject(new Error('catalog down'));
    await expect(asked).rejects.toThrow('catalog down');
  });

  it('serves stale subscriptions while one read refreshes them, and loads unknown ones', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const reads: Array<{ ids: string[]; resolve: (subs: Subscription[]) => void }> = [];
    const catalog = {
      subscriptions: {
        getMany: (ids: string[]) =>
          new Promise<Subscription[]>((resolve) => reads.push({ ids: [...ids], resolve })),
      },
    } as unknown as Catalog;
    const cache = cacheOver(catalog);
    const sub = (id: string) => ({ id, topic: 't' }) as unknown as Subscription;
    const first = cache.subscriptions(['sub_a']);
    reads[0].resolve([sub('sub_a')]);
    expect([...(await first).keys()]).toEqual(['sub_a']);

    vi.setSystemTime(Date.now() + 31_000);
    // sub_a is stale: served at once (its refresh hangs); sub_b was never read: one read for it.
    const second = cache.subscriptions(['sub_a', 'sub_b']);
    await vi.waitFor(() => expect(reads).toHaveLength(3));
    expect(reads.map((r) => r.ids)).toEqual([['sub_a'], ['sub_a'], ['sub_b']]);
    reads[2].resolve([sub('sub_b')]);
    expect([...(await second).keys()].sort()).toEqual(['sub_a', 'sub_b']);
    // The refresh of sub_a still runs: no second one starts.
    await cache.subscriptions(['sub_a']);
    expect(reads).toHaveLength(3);
  });

  it('compiles a filter policy once per version of its subscription, and none for one without', () => {
    const cache = cacheOver(fakeCatalog().catalog);
    const sub = (updatedAt: number, filterPolicy: Record<string, unknown> | null) =>
      ({
        id: 'sub_f',
        filterPolicy,
        filterPolicyScope: 'attributes',
        updatedAt: new Date(updatedAt),
      }) as unknown as Subscription;
    const first = cache.filter(sub(1, { kind: ['order'] }));
    expect(first?.matches({ attributes: { kind: 'order' }, body: '' })).toBe(true);
    expect(cache.filter(sub(1, { kind: ['order'] }))).toBe(first);
    // Edited: compiled again, from the new policy.
    const second = cache.filter(sub(2, { kind: ['refund'] }));
    expect(second).not.toBe(first);
    expect(second?.matches({ attributes: { kind: 'order' }, body: '' })).toBe(false);
    // The policy removed: nothing to match with, whatever was compiled before.
    expect(cache.filter(sub(3, null))).toBeNull();
  });
});
