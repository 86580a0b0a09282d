import { deliveryIdFor, newId } from '@herald/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from './catalog';
import type { CatalogEvent, DeadEvent } from './catalog-event';
import {
  attemptEvent,
  BACKENDS,
  messagePayload,
  openTestCatalog,
  subscriptionInput,
  uniqueName,
  type TestCatalog,
} from './catalog-test-support';

describe.each(BACKENDS)('DeadLettersRepository on %s', (backend) => {
  let t: TestCatalog;
  let catalog: Catalog;

  beforeAll(async () => {
    t = await openTestCatalog(backend);
    catalog = t.catalog;
  });
  afterAll(() => t.dispose());

  /** `count` messages on a new topic, each dead-lettered for one subscription; returns the entries' ids. */
  async function deadLetters(
    count: number,
    topic = uniqueName('dlq'),
  ): Promise<{ topic: string; subscriptionId: string; ids: string[] }> {
    await catalog.topics.create({ name: topic });
    const sub = subscriptionInput(topic);
    await catalog.subscriptions.create(sub);
    const events: CatalogEvent[] = [];
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const message = messagePayload(topic, { body: `message ${i}` });
      const deliveryId = deliveryIdFor(message.id, sub.id);
      const dead: DeadEvent = {
        type: 'dead',
        id: newId('dlq'),
        deliveryId,
        run: 1,
        messageId: message.id,
        subscriptionId: sub.id,
        topic,
        protocol: 'webhook',
        endpoint: sub.endpoint,
        attempts: 2,
        reason: 'retries exhausted',
        lastError: 'receiver answered 503',
        lastStatusCode: 503,
        deadAt: new Date().toISOString(),
      };
      ids.push(dead.id);
      events.push(
        { type: 'message', message, matched: 1, filteredOut: 0 },
        {
          type: 'deliveries',
          messageId: message.id,
          topic,
          items: [{ id: deliveryId, subscriptionId: sub.id, protocol: 'webhook' }],
        },
        ...[1, 2].map((n): CatalogEvent =>
          attemptEvent(deliveryId, 1, n, {
            topic,
            durationMs: 30,
            outcome: n === 2 ? 'failed' : 'retry',
            error: 'receiver answered 503',
          }),
        ),
        dead,
      );
    }
    await catalog.applyEvents(events);
    return { topic, subscriptionId: sub.id, ids };
  }

  it('lists entries by topic and by subscription, page by page', async () => {
    const a = await deadLetters(5);
    const b = await deadLetters(2);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await catalog.deadLetters.list({ topic: a.topic }, { limit: 2, cursor });
      seen.push(...page.items.map((d) => d.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(a.ids);
    expect(
      (await catalog.deadLetters.list({ subscriptionId: b.subscriptionId })).items.map((d) => d.id),
    ).toEqual(b.ids);
    expect(
      (await catalog.deadLetters.list({ topic: a.topic, subscriptionId: b.subscriptionId })).items,
    ).toEqual([]);
    const all = await catalog.deadLetters.list({}, { limit: 1000 });
    expect(all.items.map((d) => d.id)).toEqual(expect.arrayContaining([...a.ids, ...b.ids]));
  });

  it('lists only the allowed topics, in full pages, when given a topic limit', async () => {
    const a = await deadLetters(3);
    const b = await deadLetters(3);
    const c = await deadLetters(2);
    const allowed = [a.topic, c.topic];
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await catalog.deadLetters.list({}, { limit: 2, cursor }, allowed);
      // Full pages until the last one: the limit is applied in the query, not after it.
      if (page.nextCursor !== null) expect(page.items).toHaveLength(2);
      seen.push(...page.items.map((d) => d.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen.filter((id) => [...a.ids, ...b.ids, ...c.ids].includes(id))).toEqual([...a.ids, ...c.ids]);
    expect((await catalog.deadLetters.list({ subscriptionId: b.subscriptionId }, {}, allowed)).items).toEqual(
      [],
    );
    expect((await catalog.deadLetters.list({ topic: b.topic }, {}, [])).items).toEqual([]);
  });

  it('shows an entry with its message payload and every attempt', async () => {
    const { ids, topic } = await deadLetters(1);
    const detail = await catalog.deadLetters.get(ids[0]);
    expect(detail?.entry).toMatchObject({
      id: ids[0],
      topic,
      attempts: 2,
      reason: 'retries exhausted',
      run: 1,
    });
    expect(detail?.entry.deadAt).toBeInstanceOf(Date);
    expect(detail?.message).toMatchObject({ topic, body: 'message 0' });
    expect(detail?.attempts.map((a) => [a.number, a.outcome])).toEqual([
      [1, 'retry'],
      [2, 'failed'],
    ]);
    expect(await catalog.deadLetters.get(newId('dlq'))).toBeNull();
  });

  it('deletes an entry', async () => {
    const { ids } = await deadLetters(1);
    expect(await catalog.deadLetters.delete(ids[0])).toBe(true);
    expect(await catalog.deadLetters.get(ids[0])).toBeNull();
    expect(await catalog.deadLetters.delete(ids[0])).toBe(false);
  });

  it('counts the entries waiting', async () => {
    const before = await catalog.deadLetters.count();
    const { ids } = await deadLetters(3);
    expect(await catalog.deadLetters.count()).toBe(before + 3);
    await catalog.deadLetters.delete(ids[0]);
    expect(await catalog.deadLetters.count()).toBe(before + 2);
  });

  it('takes entries by id for redrive and starts a new run of their deliveries', async () => {
    const { ids } = await deadLetters(3);
    const taken = await catalog.deadLetters.take({ ids: [ids[0], ids[2], newId('dlq')] });
    expect(taken.map((d) => [d.id, d.run, d.newRun])).toEqual([
      [ids[0], 1, 2],
      [ids[2], 1, 2],
    ]);
    const delivery = await catalog.deliveries.get(taken[0].deliveryId);
    // The new run made no attempt yet: lastAttempt (over every run) is still the second.
    expect(delivery).toMatchObject({ status: 'pending', run: 2, lastAttempt: 2, attemptCount: 2 });
    expect(delivery?.attempts).toHaveLength(2);
    expect(await catalog.deadLetters.get(ids[0])).toBeNull();
    expect(await catalog.deadLetters.get(ids[1])).not.toBeNull();
    expect(await catalog.deadLetters.take({ ids: [ids[0]] })).toEqual([]);
    expect(await catalog.deadLetters.take({ ids: [] })).toEqual([]);
  });

  it('takes entries by filter, at most limit at a time', async () => {
    const { topic, ids } = await deadLetters(5);
    const first = await catalog.deadLetters.take({ topic, limit: 3 });
    const rest = await catalog.deadLetters.take({ topic });
    expect(first.map((d) => d.id)).toEqual(ids.slice(0, 3));
    expect(rest.map((d) => d.id)).toEqual(ids.slice(3));
    expect(await catalog.deadLetters.take({ topic })).toEqual([]);
  });

  it('hands each entry to only one of two concurrent redrives', async () => {
    const { topic, subscriptionId, ids } = await deadLetters(40);
    const byIds = await Promise.all([
      catalog.deadLetters.take({ ids: ids.slice(0, 20) }),
      catalog.deadLetters.take({ ids: ids.slice(0, 20) }),
    ]);
    const byFilter = await Promise.all([
      catalog.deadLetters.take({ topic, limit: 15 }),
      catalog.deadLetters.take({ subscriptionId, limit: 15 }),
    ]);
    const returned = [...byIds, ...byFilter].flat().map((d) => d.id);
    expect([...returned].sort()).toEqual([...ids].sort());
    expect(new Set(returned).size).toBe(returned.length);
    const runs = await catalog.sql.query<{ run: number }>(
      'SELECT DISTINCT run FROM deliveries WHERE subscription_id = $1',
      [subscriptionId],
    );
    expect(runs.rows).toEqual([{ run: 2 }]);
  });

  it('recreates a delivery row that is missing when its dead letter is redriven', async () => {
    const topic = uniqueName('orphan');
    const messageId = newId('msg');
    const subscriptionId = newId('sub');
    const deliveryId = deliveryIdFor(messageId, subscriptionId);
    const id = newId('dlq');
    await catalog.applyEvents([
      {
        type: 'dead',
        id,
        deliveryId,
        run: 1,
        messageId,
        subscriptionId,
        topic,
        protocol: 'email',
        endpoint: 'someone@example.com',
        attempts: 15,
        reason: 'retries exhausted',
        lastError: '421 try later',
        lastStatusCode: 421,
        deadAt: new Date().toISOString(),
      },
    ]);
    const [taken] = await catalog.deadLetters.take({ ids: [id] });
    expect(taken).toMatchObject({ run: 1, newRun: 2 });
    expect(await catalog.deliveries.get(deliveryId)).toMatchObject({
      status: 'pending',
      run: 2,
      messageId,
      subscriptionId,
      protocol: 'email',
    });
  });
  it('does not move back a redriven run that was recorded before the take (the job is enqueued first)', async () => {
    const { ids } = await deadLetters(1);
    const entry = (await catalog.deadLetters.get(ids[0]))!.entry;
    // The redriven job (run 2) delivered and was recorded before the entry was taken.
    await catalog.applyEvents([
      attemptEvent(entry.deliveryId, 2, 1, { outcome: 'delivered', statusCode: 200, error: null }),
    ]);
    const [taken] = await catalog.deadLetters.take({ ids });
    expect(taken).toMatchObject({ id: ids[0], run: 1, newRun: 2 });
    expect(await catalog.deliveries.get(entry.deliveryId)).toMatchObject({ status: 'delivered', run: 2 });
    expect(await catalog.deadLetters.get(ids[0])).toBeNull();
  });
});
