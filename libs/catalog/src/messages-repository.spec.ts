import { deliveryIdFor, newId, type AttemptOutcome } from '@herald/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from './catalog';
import {
  attemptEvent,
  BACKENDS,
  messagePayload,
  openTestCatalog,
  uniqueName,
  type TestCatalog,
} from './catalog-test-support';

describe.each(BACKENDS)('MessagesRepository on %s', (backend) => {
  let t: TestCatalog;
  let catalog: Catalog;

  beforeAll(async () => {
    t = await openTestCatalog(backend);
    catalog = t.catalog;
  });
  afterAll(() => t.dispose());

  it('returns null for an unknown message', async () => {
    expect(await catalog.messages.get(newId('msg'))).toBeNull();
    expect(await catalog.messages.getPayload(newId('msg'))).toBeNull();
  });

  it('keeps the payload exactly as published', async () => {
    const topic = uniqueName('payload');
    for (const body of ['plain text', { nested: { list: [1, 'two', null, true] } }, [1, 2], 42, null, '']) {
      const message = messagePayload(topic, { body, subject: null, bodyByProtocol: {} });
      await catalog.applyEvents([{ type: 'message', message, matched: 0, filteredOut: 0 }]);
      expect(await catalog.messages.getPayload(message.id)).toEqual(message);
    }
  });

  it('counts deliveries by status', async () => {
    const topic = uniqueName('counts');
    const message = messagePayload(topic);
    const subs = Array.from({ length: 6 }, () => newId('sub'));
    const ids = subs.map((s) => deliveryIdFor(message.id, s));
    const attempt = (i: number, outcome: AttemptOutcome) =>
      attemptEvent(ids[i], 1, 1, { topic, outcome, statusCode: outcome === 'delivered' ? 200 : 500 });
    await catalog.applyEvents([
      { type: 'message', message, matched: 6, filteredOut: 3 },
      {
        type: 'deliveries',
        messageId: message.id,
        topic,
        items: subs.map((s, i) => ({ id: ids[i], subscriptionId: s, protocol: 'webhook' as const })),
      },
      attempt(0, 'delivered'),
      attempt(1, 'delivered'),
      attempt(2, 'retry'),
      attempt(3, 'failed'),
      { type: 'cancelled', deliveryId: ids[4], run: 1, reason: 'subscription paused' },
    ]);
    const got = await catalog.messages.get(message.id);
    expect(got).toMatchObject({
      id: message.id,
      topic,
      subject: message.subject,
      attributes: message.attributes,
      counts: { matched: 6, filteredOut: 3, delivered: 2, pending: 2, failed: 1, cancelled: 1 },
    });
    expect(got?.publishedAt.toISOString()).toBe(message.publishedAt);
    expect(got?.fannedOutAt).toBeInstanceOf(Date);
  });
});
