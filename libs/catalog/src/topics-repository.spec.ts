import { deliveryIdFor, newId } from '@herald/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from './catalog';
import {
  attemptEvent,
  BACKENDS,
  openTestCatalog,
  subscriptionInput,
  uniqueName,
  type TestCatalog,
} from './catalog-test-support';
import { ConflictError } from './conflict-error';

describe.each(BACKENDS)('TopicsRepository on %s', (backend) => {
  let t: TestCatalog;
  let catalog: Catalog;

  beforeAll(async () => {
    t = await openTestCatalog(backend);
    catalog = t.catalog;
  });
  afterAll(() => t.dispose());

  it('creates a topic, returns the same one again for the same attributes, refuses other attributes', async () => {
    const name = uniqueName('orders');
    const input = { name, displayName: 'Orders', deliveryPolicy: { maxAttempts: 5, minDelayMs: 10 } };
    const first = await catalog.topics.create(input);
    expect(first.created).toBe(true);
    expect(first.topic).toMatchObject({ name, displayName: 'Orders', description: null });
    expect(first.topic.deliveryPolicy).toEqual({ maxAttempts: 5, minDelayMs: 10 });
    expect(first.topic.createdAt).toBeInstanceOf(Date);

    // Key order differs: jsonb equality does not care.
    const again = await catalog.topics.create({
      ...input,
      deliveryPolicy: { minDelayMs: 10, maxAttempts: 5 },
    });
    expect(again.created).toBe(false);
    expect(again.topic.createdAt.getTime()).toBe(first.topic.createdAt.getTime());

    await expect(catalog.topics.create({ ...input, displayName: 'Other' })).rejects.toBeInstanceOf(
      ConflictError,
    );
    await expect(catalog.topics.create({ name })).rejects.toBeInstanceOf(ConflictError);
    await expect(catalog.topics.create({ ...input, deliveryPolicy: { maxAttempts: 6 } })).rejects.toThrow(
      /already exists/,
    );
  });

  it('gets, updates and reports a missing topic as null', async () => {
    const name = uniqueName('get');
    await catalog.topics.create({ name, description: 'before' });
    expect((await catalog.topics.get(name))?.description).toBe('before');
    const updated = await catalog.topics.update(name, {
      description: 'after',
      deliveryPolicy: { maxAttempts: 3 },
    });
    expect(updated).toMatchObject({
      description: 'after',
      deliveryPolicy: { maxAttempts: 3 },
      displayName: null,
    });
    const cleared = await catalog.topics.update(name, { deliveryPolicy: null });
    expect(cleared?.deliveryPolicy).toBeNull();
    expect(cleared?.description).toBe('after');
    expect(await catalog.topics.update(name, {})).toMatchObject({ name, description: 'after' });
    expect(await catalog.topics.get(uniqueName('missing'))).toBeNull();
    expect(await catalog.topics.update(uniqueName('missing'), { description: 'x' })).toBeNull();
  });

  it('pages through topics by name with a keyset cursor', async () => {
    const prefix = uniqueName('page');
    const names = Array.from({ length: 7 }, (_, i) => `${prefix}-${i}`);
    for (const name of [...names].reverse()) await catalog.topics.create({ name });
    const seen: string[] = [];
    let cursor: string | null = `${prefix}-`;
    let pages = 0;
    while (cursor !== null) {
      const page = await catalog.topics.list({ limit: 3, cursor });
      seen.push(...page.items.map((t) => t.name).filter((n) => n.startsWith(prefix)));
      cursor = page.items.some((t) => !t.name.startsWith(prefix)) ? null : page.nextCursor;
      pages++;
    }
    expect(seen).toEqual(names);
    expect(pages).toBeGreaterThanOrEqual(3);
  });

  it('lists only the allowed topics, in full pages, when given a topic limit', async () => {
    const prefix = uniqueName('allowed');
    const names = Array.from({ length: 6 }, (_, i) => `${prefix}-${i}`);
    for (const name of names) await catalog.topics.create({ name });
    const allowed = [names[1], names[3], names[5], `${prefix}-missing`];
    const first = await catalog.topics.list({ limit: 2 }, allowed);
    expect(first.items.map((t) => t.name)).toEqual([names[1], names[3]]);
    expect(first.nextCursor).toBe(names[3]);
    const second = await catalog.topics.list({ limit: 2, cursor: first.nextCursor }, allowed);
    expect(second.items.map((t) => t.name)).toEqual([names[5]]);
    expect(second.nextCursor).toBeNull();
    expect(await catalog.topics.list({ limit: 10 }, [])).toEqual({ items: [], nextCursor: null });
    const unlimited = await catalog.topics.list({ limit: 1000 }, null);
    expect(unlimited.items.map((t) => t.name)).toEqual(expect.arrayContaining(names));
  });

  it('ends the last page with nextCursor null', async () => {
    const all = await catalog.topics.list({ limit: 1000 });
    expect(all.nextCursor).toBeNull();
    const exact = await catalog.topics.list({ limit: all.items.length });
    expect(exact.nextCursor).toBeNull();
  });

  it('counts subscriptions by status, with every status present', async () => {
    const name = uniqueName('counts');
    await catalog.topics.create({ name });
    await catalog.subscriptions.create(subscriptionInput(name, { status: 'active' }));
    await catalog.subscriptions.create(subscriptionInput(name, { status: 'active' }));
    await catalog.subscriptions.create(subscriptionInput(name, { status: 'pending', protocol: 'email' }));
    expect(await catalog.topics.subscriptionCounts(name)).toEqual({
      pending: 1,
      active: 2,
      paused: 0,
      disabled: 0,
      unsubscribed: 0,
    });
  });

  it('deletes a topic with its subscriptions and cancels only its unfinished deliveries', async () => {
    const name = uniqueName('doomed');
    const other = uniqueName('kept');
    await catalog.topics.create({ name });
    await catalog.topics.create({ name: other });
    const sub = (await catalog.subscriptions.create(subscriptionInput(name)))!.subscription;
    const otherSub = (await catalog.subscriptions.create(subscriptionInput(other)))!.subscription;
    const messageId = newId('msg');
    const otherMessageId = newId('msg');
    const dlv = deliveryIdFor(messageId, sub.id);
    const doneDlv = deliveryIdFor(newId('msg'), sub.id);
    const otherDlv = deliveryIdFor(otherMessageId, otherSub.id);
    await catalog.applyEvents([
      {
        type: 'deliveries',
        messageId,
        topic: name,
        items: [{ id: dlv, subscriptionId: sub.id, protocol: 'webhook' }],
      },
      {
        type: 'deliveries',
        messageId: newId('msg'),
        topic: name,
        items: [{ id: doneDlv, subscriptionId: sub.id, protocol: 'webhook' }],
      },
      {
        type: 'deliveries',
        messageId: otherMessageId,
        topic: other,
        items: [{ id: otherDlv, subscriptionId: otherSub.id, protocol: 'webhook' }],
      },
      attemptEvent(doneDlv, 1, 1, { topic: name, outcome: 'delivered', statusCode: 200, error: null }),
    ]);

    expect(await catalog.topics.delete(name)).toBe(true);
    expect(await catalog.topics.get(name)).toBeNull();
    expect(await catalog.subscriptions.get(sub.id)).toBeNull();
    expect((await catalog.deliveries.get(dlv))?.status).toBe('cancelled');
    expect((await catalog.deliveries.get(doneDlv))?.status).toBe('delivered');
    expect((await catalog.deliveries.get(otherDlv))?.status).toBe('pending');
    expect(await catalog.subscriptions.get(otherSub.id)).not.toBeNull();
    expect(await catalog.topics.delete(name)).toBe(false);
  });
});
