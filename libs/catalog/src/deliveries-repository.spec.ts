import { deliveryIdFor, newId } from '@herald/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from './catalog';
import type { ProviderStatusUpdate } from './catalog-types';
import {
  attemptEvent,
  BACKENDS,
  messagePayload,
  openTestCatalog,
  subscriptionInput,
  uniqueName,
  type TestCatalog,
} from './catalog-test-support';

describe.each(BACKENDS)('DeliveriesRepository on %s', (backend) => {
  let t: TestCatalog;
  let catalog: Catalog;
  let topic: string;

  beforeAll(async () => {
    t = await openTestCatalog(backend);
    catalog = t.catalog;
    topic = uniqueName('deliveries');
    await catalog.topics.create({ name: topic });
  });
  afterAll(() => t.dispose());

  const attempt = attemptEvent;

  it('returns null for an unknown delivery', async () => {
    expect(await catalog.deliveries.get(deliveryIdFor(newId('msg'), newId('sub')))).toBeNull();
  });

  it('numbers attempts 1..n over every run', async () => {
    const messageId = newId('msg');
    const subscriptionId = newId('sub');
    const id = deliveryIdFor(messageId, subscriptionId);
    await catalog.applyEvents([
      { type: 'deliveries', messageId, topic, items: [{ id, subscriptionId, protocol: 'webhook' }] },
      attempt(id, 2, 1, { outcome: 'delivered', statusCode: 200, error: null }),
      attempt(id, 1, 2, {
        outcome: 'failed',
        statusCode: 404,
        error: 'receiver answered 404',
      }),
      attempt(id, 1, 1),
    ]);
    const delivery = await catalog.deliveries.get(id);
    expect(delivery).toMatchObject({
      id,
      messageId,
      subscriptionId,
      topic,
      protocol: 'webhook',
      status: 'delivered',
    });
    expect(delivery?.attempts).toEqual([
      {
        number: 1,
        run: 1,
        at: new Date(Date.UTC(2030, 0, 1, 0, 1, 1)),
        durationMs: 11,
        outcome: 'retry',
        statusCode: 503,
        error: 'receiver answered 503 (attempt 1)',
        response: null,
      },
      {
        number: 2,
        run: 1,
        at: new Date(Date.UTC(2030, 0, 1, 0, 1, 2)),
        durationMs: 12,
        outcome: 'failed',
        statusCode: 404,
        error: 'receiver answered 404',
        response: null,
      },
      {
        number: 3,
        run: 2,
        at: new Date(Date.UTC(2030, 0, 1, 0, 2, 1)),
        durationMs: 11,
        outcome: 'delivered',
        statusCode: 200,
        error: null,
        response: null,
      },
    ]);
  });

  it('lists by message and by subscription, filtered by status, page by page', async () => {
    const message = messagePayload(topic);
    const subs = Array.from({ length: 7 }, () => newId('sub'));
    const ids = subs.map((s) => deliveryIdFor(message.id, s));
    await catalog.applyEvents([
      {
        type: 'deliveries',
        messageId: message.id,
        topic,
        items: subs.map((s, i) => ({ id: ids[i], subscriptionId: s, protocol: 'email' as const })),
      },
      ...ids
        .filter((_, i) => i % 2 === 0)
        .map((id) => attempt(id, 1, 1, { outcome: 'delivered', statusCode: 250, error: null })),
    ]);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await catalog.deliveries.listByMessage(message.id, {}, { limit: 3, cursor });
      seen.push(...page.items.map((d) => d.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual([...ids].sort());
    const delivered = await catalog.deliveries.listByMessage(message.id, { status: 'delivered' });
    expect(delivered.items.map((d) => d.id)).toEqual([ids[0], ids[2], ids[4], ids[6]].sort());
    expect(delivered.nextCursor).toBeNull();

    const bySub = await catalog.deliveries.listBySubscription(subs[1]);
    expect(bySub.items.map((d) => d.id)).toEqual([ids[1]]);
    expect((await catalog.deliveries.listBySubscription(subs[1], { status: 'delivered' })).items).toEqual([]);
  });

  it('applies a provider status callback and files a dead letter when the message failed', async () => {
    const sub = subscriptionInput(topic, { protocol: 'sms', endpoint: '+15550001111', secret: null });
    await catalog.subscriptions.create(sub);
    const ok = deliveryIdFor(newId('msg'), sub.id);
    const bad = deliveryIdFor(newId('msg'), sub.id);
    for (const [id, sid] of [
      [ok, 'SM-ok'],
      [bad, 'SM-bad'],
    ]) {
      await catalog.applyEvents([
        {
          type: 'deliveries',
          messageId: newId('msg'),
          topic,
          items: [{ id, subscriptionId: sub.id, protocol: 'sms' }],
        },
        attempt(id, 1, 1, {
          outcome: 'delivered',
          statusCode: 201,
          error: null,
          providerMessageId: sid,
        }),
      ]);
    }
    expect((await catalog.deliveries.findByProviderMessageId('SM-ok'))?.id).toBe(ok);
    expect(await catalog.deliveries.findByProviderMessageId('SM-none')).toBeNull();

    /** A Twilio status callback as the API records it: an event through the batch writer. */
    const providerStatus = async (providerMessageId: string, update: ProviderStatusUpdate) => {
      await catalog.applyEvents([{ type: 'provider-status', providerMessageId, update }]);
      return catalog.deliveries.findByProviderMessageId(providerMessageId);
    };
    expect(await providerStatus('SM-ok', { status: 'delivered' })).toMatchObject({
      id: ok,
      status: 'delivered',
    });
    const dead = await providerStatus('SM-bad', {
      status: 'dead',
      errorCode: 30003,
      error: 'Unreachable destination handset',
    });
    expect(dead).toMatchObject({
      id: bad,
      status: 'dead',
      lastStatusCode: 30003,
      lastError: 'Unreachable destination handset',
    });
    const letters = await catalog.deadLetters.list({ subscriptionId: sub.id });
    expect(letters.items).toHaveLength(1);
    expect(letters.items[0]).toMatchObject({
      deliveryId: bad,
      endpoint: '+15550001111',
      lastStatusCode: 30003,
      run: 1,
    });

    // Repeated callbacks, and a late 'delivered' for a failed message, change nothing.
    await providerStatus('SM-bad', { status: 'dead', errorCode: 30003 });
    expect(await providerStatus('SM-bad', { status: 'delivered' })).toMatchObject({ status: 'dead' });
    expect((await catalog.deadLetters.list({ subscriptionId: sub.id })).items).toHaveLength(1);
    expect(await providerStatus('SM-none', { status: 'delivered' })).toBeNull();
  });
});
