import { createHash } from 'node:crypto';
import { newId, randomToken } from '@herald/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from './catalog';
import { BACKENDS, openTestCatalog, type TestCatalog } from './catalog-test-support';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe.each(BACKENDS)('ApiKeysRepository on %s', (backend) => {
  let t: TestCatalog;
  let catalog: Catalog;

  beforeAll(async () => {
    t = await openTestCatalog(backend);
    catalog = t.catalog;
  });
  afterAll(() => t.dispose());

  it('stores a key by hash, finds it by hash, and forgets it when deleted', async () => {
    const key = randomToken();
    const id = newId('key');
    const created = await catalog.apiKeys.create({
      id,
      name: 'publisher',
      keyHash: sha256(key),
      scopes: ['publish', 'read'],
      topics: ['orders', 'billing'],
    });
    expect(created).toMatchObject({
      id,
      name: 'publisher',
      scopes: ['publish', 'read'],
      topics: ['orders', 'billing'],
    });
    expect(created).not.toHaveProperty('keyHash');
    expect((await catalog.apiKeys.findByHash(sha256(key)))?.id).toBe(id);
    expect(await catalog.apiKeys.findByHash(sha256('other'))).toBeNull();
    expect(await catalog.apiKeys.get(id)).toMatchObject({ id, topics: ['orders', 'billing'] });
    expect(await catalog.apiKeys.delete(id)).toBe(true);
    expect(await catalog.apiKeys.findByHash(sha256(key))).toBeNull();
    expect(await catalog.apiKeys.delete(id)).toBe(false);
  });

  it('keeps topics null for a key valid on every topic', async () => {
    const id = newId('key');
    await catalog.apiKeys.create({ id, name: 'admin', keyHash: sha256(id), scopes: ['admin'], topics: null });
    expect((await catalog.apiKeys.get(id))?.topics).toBeNull();
  });

  it('lists keys page by page', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = newId('key');
      ids.push(id);
      await catalog.apiKeys.create({
        id,
        name: `k${i}`,
        keyHash: sha256(id),
        scopes: ['read'],
        topics: null,
      });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await catalog.apiKeys.list({ limit: 2, cursor });
      seen.push(...page.items.map((k) => k.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen.filter((id) => ids.includes(id))).toEqual(ids);
  });
});
