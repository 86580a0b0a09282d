import { deliveryIdFor, newId } from '@herald/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from './catalog';
import {
  BACKENDS,
  openTestCatalog,
  subscriptionInput,
  uniqueName,
  type TestCatalog,
} from './catalog-test-support';

describe.each(BACKENDS)('SubscriptionsRepository on %s', (backend) => {
  let t: TestCatalog;
  let catalog: Catalog;
  let topic: string;

  beforeAll(async () => {
    t = await openTestCatalog(backend);
    catalog = t.catalog;
  });
  afterAll(() => t.dispose());

  beforeAll(async () => {
    topic = uniqueName('subs');
    await catalog.topics.create({ name: topic });
  });

  it('creates a subscription with every field and reads it back', async () => {
    const expires = new Date(Date.now() + 72 * 3600_000);
    const input = subscriptionInput(topic, {
      status: 'pending',
      filterPolicy: { kind: ['order'], amount: [{ numeric: ['>', 10] }] },
      filterPolicyScope: 'body',
      rawDelivery: true,
      deliveryPolicy: { maxAttempts: 3 },
      metadata: { team: 'billing' },
      confirmationTokenHash: 'hash-create',
      confirmationExpiresAt: expires,
    });
    const result = await catalog.subscriptions.create(input);
    expect(result?.created).toBe(true);
    const got = await catalog.subscriptions.get(input.id);
    expect(got).toMatchObject({
      id: input.id,
      topic,
      protocol: 'webhook',
      endpoint: input.endpoint,
      status: 'pending',
      filterPolicy: { kind: ['order'], amount: [{ numeric: ['>', 10] }] },
      filterPolicyScope: 'body',
      rawDelivery: true,
      deliveryPolicy: { maxAttempts: 3 },
      metadata: { team: 'billing' },
      secret: input.secret,
      previousSecret: null,
      previousSecretExpiresAt: null,
      confirmedAt: null,
      unsubscribeToken: input.unsubscribeToken,
    });
    expect(got?.confirmationExpiresAt?.getTime()).toBe(expires.getTime());
    expect(got?.createdAt).toBeInstanceOf(Date);
  });

  it('returns the existing subscription for the same topic, protocol and endpoint', async () => {
    const first = await catalog.subscriptions.create(
      subscriptionInput(topic, { endpoint: 'https://example.com/same' }),
    );
    const second = await catalog.subscriptions.create(
      subscriptionInput(topic, { endpoint: 'https://example.com/same', metadata: { other: true } }),
    );
    expect(first?.created).toBe(true);
    expect(second?.created).toBe(false);
    expect(second?.subscription.id).toBe(first?.subscription.id);
    expect(second?.subscription.metadata).toEqual({});
    const otherProtocol = await catalog.subscriptions.create(
      subscriptionInput(topic, { endpoint: 'https://example.com/same', protocol: 'function' }),
    );
    expect(otherProtocol?.created).toBe(true);
  });

  it('returns null when the topic does not exist', async () => {
    expect(await catalog.subscriptions.create(subscriptionInput(uniqueName('nope')))).toBeNull();
  });

  it('lists by topic with status and protocol filters, page by page', async () => {
    const name = uniqueName('list');
    await catalog.topics.create({ name });
    const ids: string[] = [];
    for (let i = 0; i < 9; i++) {
      const input = subscriptionInput(name, {
        status: i % 3 === 0 ? 'paused' : 'active',
        protocol: i % 2 === 0 ? 'webhook' : 'email',
        endpoint: i % 2 === 0 ? `https://example.com/${i}` : `user${i}@example.com`,
      });
      ids.push(input.id);
      await catalog.subscriptions.create(input);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await catalog.subscriptions.list(name, {}, { limit: 4, cursor });
      expect(page.items.length).toBeLessThanOrEqual(4);
      seen.push(...page.items.map((s) => s.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(ids);

    const paused = await catalog.subscriptions.list(name, { status: 'paused' });
    expect(paused.items.map((s) => s.id)).toEqual([ids[0], ids[3], ids[6]]);
    const activeEmail = await catalog.subscriptions.list(name, { status: 'active', protocol: 'email' });
    expect(activeEmail.items.map((s) => s.id)).toEqual([ids[1], ids[5], ids[7]]);
  });

  it('pages through the active subscriptions for the fan-out', async () => {
    const name = uniqueName('fanout');
    await catalog.topics.create({ name });
    const active: string[] = [];
    for (let i = 0; i < 12; i++) {
      const input = subscriptionInput(name, { status: i === 4 ? 'paused' : 'active' });
      if (i !== 4) active.push(input.id);
      await catalog.subscriptions.create(input);
    }
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await catalog.subscriptions.listActivePage(name, after, 5);
      if (page.length === 0) break;
      seen.push(...page.map((s) => s.id));
      after = page[page.length - 1].id;
    }
    expect(seen).toEqual(active);
  });

  it('updates the given fields only and clears with null', async () => {
    const input = subscriptionInput(topic, { filterPolicy: { a: ['b'] }, metadata: { x: 1 } });
    await catalog.subscriptions.create(input);
    const updated = await catalog.subscriptions.update(input.id, {
      filterPolicy: null,
      rawDelivery: true,
      status: 'paused',
      deliveryPolicy: { minDelayMs: 5 },
    });
    expect(updated).toMatchObject({
      filterPolicy: null,
      rawDelivery: true,
      status: 'paused',
      deliveryPolicy: { minDelayMs: 5 },
      metadata: { x: 1 },
      filterPolicyScope: 'attributes',
    });
    expect(updated!.updatedAt.getTime()).toBeGreaterThanOrEqual(updated!.createdAt.getTime());
    expect(await catalog.subscriptions.update(newId('sub'), { status: 'active' })).toBeNull();
  });

  it('confirms through an unexpired token hash only, and retires the token', async () => {
    const live = subscriptionInput(topic, { status: 'pending' });
    const expired = subscriptionInput(topic, {
      status: 'pending',
      confirmationTokenHash: 'hash-expired',
      confirmationExpiresAt: new Date(Date.now() - 1000),
    });
    await catalog.subscriptions.create(live);
    await catalog.subscriptions.create(expired);
    expect(
      await catalog.subscriptions.setConfirmationToken(live.id, 'hash-live', new Date(Date.now() + 60_000)),
    ).toBe(true);
    expect(await catalog.subscriptions.setConfirmationToken(newId('sub'), 'x', new Date())).toBe(false);
    expect(await catalog.subscriptions.findByConfirmationTokenHash('hash-expired')).toBeNull();
    const found = await catalog.subscriptions.findByConfirmationTokenHash('hash-live');
    expect(found?.id).toBe(live.id);

    const confirmedAt = new Date();
    const confirmed = await catalog.subscriptions.setStatus(live.id, 'active', confirmedAt);
    expect(confirmed).toMatchObject({ status: 'active', confirmationExpiresAt: null });
    expect(confirmed?.confirmedAt?.getTime()).toBe(confirmedAt.getTime());
    expect(await catalog.subscriptions.findByConfirmationTokenHash('hash-live')).toBeNull();
    expect((await catalog.subscriptions.setStatus(expired.id, 'paused'))?.status).toBe('paused');
    expect(await catalog.subscriptions.setStatus(newId('sub'), 'paused')).toBeNull();
  });

  it('finds by unsubscribe token', async () => {
    const input = subscriptionInput(topic);
    await catalog.subscriptions.create(input);
    expect((await catalog.subscriptions.findByUnsubscribeToken(input.unsubscribeToken))?.id).toBe(input.id);
    expect(await catalog.subscriptions.findByUnsubscribeToken('unknown-token')).toBeNull();
  });

  it('rotates the secret, keeping the previous one until it expires', async () => {
    const input = subscriptionInput(topic, { secret: 'whsec_b2xk' });
    await catalog.subscriptions.create(input);
    const until = new Date(Date.now() + 24 * 3600_000);
    const rotated = await catalog.subscriptions.rotateSecret(input.id, 'whsec_bmV3', until);
    expect(rotated).toMatchObject({ secret: 'whsec_bmV3', previousSecret: 'whsec_b2xk' });
    expect(rotated?.previousSecretExpiresAt?.getTime()).toBe(until.getTime());
    expect(await catalog.subscriptions.rotateSecret(newId('sub'), 'whsec_eA==', until)).toBeNull();
  });

  it('stops and restarts every SMS subscription of a number (STOP / START)', async () => {
    const other = uniqueName('sms');
    await catalog.topics.create({ name: other });
    const phone = `+1555${Math.floor(Math.random() * 1e7)
      .toString()
      .padStart(7, '0')}`;
    const a = subscriptionInput(topic, { protocol: 'sms', endpoint: phone, secret: null });
    const b = subscriptionInput(other, { protocol: 'sms', endpoint: phone, secret: null });
    const paused = subscriptionInput(uniqueName('x'), { protocol: 'sms', endpoint: phone, secret: null });
    await catalog.subscriptions.create(a);
    await catalog.subscriptions.create(b);
    await catalog.topics.create({ name: paused.topic });
    await catalog.subscriptions.create({ ...paused, status: 'paused' });

    const statuses = async () =>
      (await catalog.subscriptions.getMany([a.id, b.id])).map((s) => s.status).sort();
    expect(await statuses()).toEqual(['active', 'active']);
    expect(
      await catalog.subscriptions.setStatusByEndpoint('sms', phone, ['active', 'pending'], 'unsubscribed'),
    ).toBe(2);
    expect(await statuses()).toEqual(['unsubscribed', 'unsubscribed']);
    expect((await catalog.subscriptions.get(paused.id))?.status).toBe('paused');
    expect(await catalog.subscriptions.setStatusByEndpoint('sms', phone, ['unsubscribed'], 'active')).toBe(2);
    expect(await catalog.subscriptions.setStatusByEndpoint('sms', phone, ['unsubscribed'], 'active')).toBe(0);
  });

  it('deletes a subscription and cancels its unfinished deliveries', async () => {
    const input = subscriptionInput(topic);
    await catalog.subscriptions.create(input);
    const messageId = newId('msg');
    const dlv = deliveryIdFor(messageId, input.id);
    await catalog.applyEvents([
      {
        type: 'deliveries',
        messageId,
        topic,
        items: [{ id: dlv, subscriptionId: input.id, protocol: 'webhook' }],
      },
    ]);
    expect(await catalog.subscriptions.delete(input.id)).toBe(true);
    expect(await catalog.subscriptions.get(input.id)).toBeNull();
    expect((await catalog.deliveries.get(dlv))?.status).toBe('cancelled');
    expect(await catalog.subscriptions.delete(input.id)).toBe(false);
  });
});
