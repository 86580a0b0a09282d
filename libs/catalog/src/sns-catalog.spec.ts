import { newId } from '@herald/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from './catalog';
import {
  BACKENDS,
  openTestCatalog,
  subscriptionInput,
  uniqueName,
  type TestCatalog,
} from './catalog-test-support';

/** What the SNS API keeps in the catalog: credentials, tags, delivery formats, signing keys. */
describe.each(BACKENDS)('the SNS additions to the catalog on %s', (backend) => {
  let t: TestCatalog;
  let catalog: Catalog;

  beforeAll(async () => {
    t = await openTestCatalog(backend);
    catalog = t.catalog;
  });
  afterAll(() => t.dispose());

  async function topic(): Promise<string> {
    const name = uniqueName('sns');
    await catalog.topics.create({ name });
    return name;
  }

  it('gives an API key credentials and finds the key by its access key id', async () => {
    const id = newId('key');
    const key = await catalog.apiKeys.create({
      id,
      name: 'sdk',
      keyHash: `hash-${id}`,
      scopes: ['publish'],
      topics: null,
    });
    expect(key.accessKeyId).toBeNull();
    const accessKeyId = `HKIA${id.slice(-16)}`;
    expect(await catalog.apiKeys.attachCredentials(id, accessKeyId, 'v1.sealed')).toBe(true);
    expect(await catalog.apiKeys.findCredentials(accessKeyId)).toEqual({
      key: expect.objectContaining({ id, scopes: ['publish'], accessKeyId }),
      sealedSecret: 'v1.sealed',
    });
    expect((await catalog.apiKeys.get(id))?.accessKeyId).toBe(accessKeyId);
    expect(await catalog.apiKeys.findCredentials('HKIAUNKNOWN')).toBeNull();
    expect(await catalog.apiKeys.attachCredentials(newId('key'), 'HKIAOTHER', 'v1.x')).toBe(false);
    await catalog.apiKeys.delete(id);
    expect(await catalog.apiKeys.findCredentials(accessKeyId)).toBeNull();
  });

  it('refuses one access key id on two keys', async () => {
    const ids = [newId('key'), newId('key')];
    for (const id of ids)
      await catalog.apiKeys.create({ id, name: 'k', keyHash: `h-${id}`, scopes: ['read'], topics: null });
    await catalog.apiKeys.attachCredentials(ids[0], 'HKIASAMEONE', 'v1.a');
    await expect(catalog.apiKeys.attachCredentials(ids[1], 'HKIASAMEONE', 'v1.b')).rejects.toThrow();
  });

  it('keeps a topic’s tags, replaces values, removes keys, holds the limit and goes with the topic', async () => {
    const name = await topic();
    expect(await catalog.topicTags.list(name)).toEqual(new Map());
    expect(
      await catalog.topicTags.put(
        name,
        new Map([
          ['team', 'checkout'],
          ['env', 'prod'],
        ]),
        3,
      ),
    ).toBe(true);
    expect(await catalog.topicTags.put(name, new Map([['env', 'staging']]), 3)).toBe(true);
    expect([...(await catalog.topicTags.list(name))]).toEqual([
      ['env', 'staging'],
      ['team', 'checkout'],
    ]);
    expect(
      await catalog.topicTags.put(
        name,
        new Map([
          ['a', '1'],
          ['b', '2'],
        ]),
        3,
      ),
    ).toBe(false);
    expect((await catalog.topicTags.list(name)).size).toBe(2);
    await catalog.topicTags.remove(name, ['team', 'absent']);
    expect([...(await catalog.topicTags.list(name))]).toEqual([['env', 'staging']]);
    await catalog.topics.delete(name);
    expect((await catalog.topicTags.list(name)).size).toBe(0);
    await expect(catalog.topicTags.put(name, new Map([['x', 'y']]), 3)).rejects.toThrow();
  });

  it('stores a subscription’s delivery format, herald unless told, and changes it', async () => {
    const name = await topic();
    const plain = await catalog.subscriptions.create(subscriptionInput(name));
    const sns = await catalog.subscriptions.create(subscriptionInput(name, { format: 'sns' }));
    expect(plain?.subscription.format).toBe('herald');
    expect(sns?.subscription.format).toBe('sns');
    const changed = await catalog.subscriptions.update(plain!.subscription.id, { format: 'sns' });
    expect(changed?.format).toBe('sns');
    expect((await catalog.subscriptions.get(plain!.subscription.id))?.format).toBe('sns');
  });

  it('lists the subscriptions of every topic in id order, page by page', async () => {
    const [a, b] = [await topic(), await topic()];
    const ids: string[] = [];
    for (const name of [a, b, a]) {
      const created = await catalog.subscriptions.create(subscriptionInput(name));
      ids.push(created!.subscription.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await catalog.subscriptions.listAll({ limit: 2, cursor });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((s) => s.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...seen].sort());
    expect(seen).toEqual(expect.arrayContaining(ids));
  });

  it('keeps signing keys; the newest signs', async () => {
    expect(await catalog.snsSigningKeys.newest()).toBeNull();
    const older = {
      id: 'aaa1',
      sealedPrivateKey: 'v1.old',
      certificate: 'PEM old',
      createdAt: new Date(Date.now() - 60_000),
    };
    const newer = { id: 'bbb2', sealedPrivateKey: 'v1.new', certificate: 'PEM new', createdAt: new Date() };
    await catalog.snsSigningKeys.add(newer);
    await catalog.snsSigningKeys.add(older);
    expect(await catalog.snsSigningKeys.newest()).toEqual(newer);
    expect(await catalog.snsSigningKeys.get('aaa1')).toEqual(older);
    expect(await catalog.snsSigningKeys.get('none')).toBeNull();
  });
});
