import { describe, expect, it } from 'vitest';
import { RefreshingCache } from './refreshing-cache';

describe('RefreshingCache', () => {
  it('stores nothing for a load answering undefined: an unknown key is asked again', async () => {
    const cache = new RefreshingCache<string>({ freshMs: 60_000 });
    let reads = 0;
    const load = async () => {
      reads++;
      return reads < 3 ? undefined : 'found';
    };
    expect(await cache.get('k', load)).toBeUndefined();
    expect(await cache.get('k', load)).toBeUndefined();
    expect(await cache.get('k', load)).toBe('found');
    expect(await cache.get('k', load)).toBe('found');
    expect(reads).toBe(3);
  });

  it('forgets the entries invalidateWhere picks, and only those', async () => {
    const cache = new RefreshingCache<{ topic: string }>({ freshMs: 60_000 });
    await cache.get('a', async () => ({ topic: 'x' }));
    await cache.get('b', async () => ({ topic: 'y' }));
    cache.invalidateWhere((v) => v.topic === 'x');
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.peek('b')).toEqual({ value: { topic: 'y' }, stale: false });
  });

  it('keeps within its size budget, least recently used first out', async () => {
    const cache = new RefreshingCache<string[]>({ freshMs: 60_000, maxSize: 10, sizeOf: (v) => v.length });
    await cache.get('a', async () => ['1', '2', '3', '4', '5', '6']);
    await cache.get('b', async () => ['1', '2', '3', '4', '5', '6']);
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.peek('b')?.value).toHaveLength(6);
  });
});
