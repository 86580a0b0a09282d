import { deliveryIdFor, newId } from '@herald/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from './catalog';
import type { CatalogEvent, DeadEvent } from './catalog-event';
import { CatalogEventWriter } from './catalog-event-writer';
import {
  attemptEvent,
  BACKENDS,
  messagePayload,
  openTestCatalog,
  statementSpy,
  subscriptionInput,
  uniqueName,
  type TestCatalog,
} from './catalog-test-support';

const attempt = attemptEvent;

describe.each(BACKENDS)('CatalogEventWriter on %s', (backend) => {
  let t: TestCatalog;
  let catalog: Catalog;
  let topic: string;

  beforeAll(async () => {
    t = await openTestCatalog(backend);
    catalog = t.catalog;
    topic = uniqueName('events');
    await catalog.topics.create({ name: topic });
  });
  afterAll(() => t.dispose());

  /** A message fanned out to one new subscription; returns the delivery id. */
  async function fanOut(): Promise<{ deliveryId: string; messageId: string; subscriptionId: string }> {
    const sub = subscriptionInput(topic);
    await catalog.subscriptions.create(sub);
    const message = messagePayload(topic);
    const deliveryId = deliveryIdFor(message.id, sub.id);
    await catalog.applyEvents([
      { type: 'message', message, matched: 1, filteredOut: 0 },
      {
        type: 'deliveries',
        messageId: message.id,
        topic,
        items: [{ id: deliveryId, subscriptionId: sub.id, protocol: 'webhook' }],
      },
    ]);
    return { deliveryId, messageId: message.id, subscriptionId: sub.id };
  }

  async function snapshot(): Promise<unknown> {
    const tables = ['messages', 'deliveries', 'dead_letters', 'subscriptions'];
    const out: Record<string, unknown> = {};
    for (const table of tables) {
      const { rows } = await catalog.sql.query(`SELECT * FROM ${table} ORDER BY id`);
      out[table] = rows;
    }
    return out;
  }

  it('does nothing for an empty batch', async () => {
    await expect(catalog.applyEvents([])).resolves.toBeUndefined();
  });

  it('changes nothing when the same events are applied again', async () => {
    const sub = subscriptionInput(topic);
    await catalog.subscriptions.create(sub);
    const message = messagePayload(topic);
    const deliveryId = deliveryIdFor(message.id, sub.id);
    const events: CatalogEvent[] = [
      { type: 'message', message, matched: 1, filteredOut: 2 },
      {
        type: 'deliveries',
        messageId: message.id,
        topic,
        items: [{ id: deliveryId, subscriptionId: sub.id, protocol: 'webhook' }],
      },
      attempt(deliveryId, 1, 1),
      attempt(deliveryId, 1, 2, { outcome: 'failed', statusCode: 410, error: 'gone' }),
      {
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
        reason: 'permanent failure',
        lastError: 'gone',
        lastStatusCode: 410,
        deadAt: new Date().toISOString(),
      },
    ];
    await catalog.applyEvents(events);
    const once = await snapshot();
    await catalog.applyEvents(events);
    await catalog.applyEvents([...events].reverse());
    expect(await snapshot()).toEqual(once);

    const delivery = await catalog.deliveries.get(deliveryId);
    expect(delivery).toMatchObject({
      status: 'dead',
      attemptCount: 2,
      lastStatusCode: 410,
      lastError: 'gone',
    });
    expect(delivery?.attempts.map((a) => a.number)).toEqual([1, 2]);
    expect((await catalog.deadLetters.list({ subscriptionId: sub.id })).items).toHaveLength(1);
    expect((await catalog.messages.get(message.id))?.counts).toMatchObject({
      matched: 1,
      filteredOut: 2,
      failed: 1,
    });
  });

  it('never regresses a delivery when an older attempt arrives after a newer one', async () => {
    const { deliveryId } = await fanOut();
    await catalog.applyEvents([
      attempt(deliveryId, 1, 3, { outcome: 'delivered', statusCode: 200, error: null }),
    ]);
    await catalog.applyEvents([attempt(deliveryId, 1, 1), attempt(deliveryId, 1, 2)]);
    const delivery = await catalog.deliveries.get(deliveryId);
    expect(delivery).toMatchObject({
      status: 'delivered',
      lastAttempt: 3,
      lastStatusCode: 200,
      lastError: null,
    });
    expect(delivery?.attemptCount).toBe(3);
    expect(delivery?.attempts.map((a) => [a.number, a.statusCode])).toEqual([
      [1, 503],
      [2, 503],
      [3, 200],
    ]);
  });

  it('takes the newest attempt of a batch whatever its position', async () => {
    const { deliveryId } = await fanOut();
    await catalog.applyEvents([
      attempt(deliveryId, 1, 2, {
        outcome: 'delivered',
        statusCode: 204,
        error: null,
        providerMessageId: 'p-1',
      }),
      attempt(deliveryId, 1, 1),
    ]);
    expect(await catalog.deliveries.get(deliveryId)).toMatchObject({
      status: 'delivered',
      lastStatusCode: 204,
      attemptCount: 2,
      providerMessageId: 'p-1',
    });
  });

  /** Applies `events` through a writer that notes its statements; returns those reading deliveries. */
  async function applyNoting(events: CatalogEvent[]): Promise<{ reads: string[]; updates: string[] }> {
    const { spy, statements } = statementSpy(catalog.sql);
    await new CatalogEventWriter(spy).applyEvents(events);
    const texts = statements.map(([text]) => text);
    return {
      reads: texts.filter((text) => /^SELECT\b[\s\S]*\bFROM deliveries\b/.test(text)),
      updates: texts.filter((text) => text.startsWith('UPDATE deliveries')),
    };
  }

  it('writes first attempts onto the pending rows an earlier batch recorded, without reading them', async () => {
    const a = await fanOut();
    const b = await fanOut();
    const { reads, updates } = await applyNoting([
      attempt(a.deliveryId, 1, 1, { topic }),
      attempt(b.deliveryId, 1, 1, { topic }),
      attempt(b.deliveryId, 1, 2, { topic, outcome: 'delivered', statusCode: 200, error: null }),
    ]);
    expect(reads).toEqual([]);
    // One compare-and-set on the pending rows: on SQLite a statement run once per row, on
    // PostgreSQL one statement for the batch.
    expect(updates).toHaveLength(backend === 'sqlite' ? 2 : 1);
    expect([...new Set(updates)]).toEqual([
      expect.stringMatching(backend === 'sqlite' ? /status = 'pending'/ : /d\.status = x\.was_status/),
    ]);
    expect(await catalog.deliveries.get(a.deliveryId)).toMatchObject({
      status: 'retrying',
      attemptCount: 1,
      lastAttempt: 1,
      lastStatusCode: 503,
    });
    const delivered = await catalog.deliveries.get(b.deliveryId);
    expect(delivered).toMatchObject({ status: 'delivered', attemptCount: 2, lastStatusCode: 200 });
    expect(delivered?.attempts.map((x) => x.number)).toEqual([1, 2]);
    expect((await catalog.messages.get(b.messageId))?.counts).toMatchObject({ delivered: 1, pending: 0 });
  });

  it('writes a large batch of first attempts onto rows of a fresh day without rescanning the batch', async () => {
    // 2,000 pending rows in a partition PostgreSQL has no statistics of yet, as on a fresh day or a
    // fresh install: the compare-and-set once took quadratic time there (see PG_UPDATE_PENDING).
    const message = messagePayload(topic);
    const items = Array.from({ length: 2000 }, () => {
      const subscriptionId = newId('sub');
      return { id: deliveryIdFor(message.id, subscriptionId), subscriptionId, protocol: 'webhook' as const };
    });
    await catalog.applyEvents([
      { type: 'message', message, matched: items.length, filteredOut: 0 },
      { type: 'deliveries', messageId: message.id, topic, items },
    ]);
    const plans: unknown[] = [];
    const { spy, statements } = statementSpy(catalog.sql, async (tx, text, params) => {
      // The plan of the compare-and-set as it runs on these rows, measured and undone.
      if (tx.dialect !== 'postgres' || !text.startsWith('UPDATE deliveries AS d')) return;
      await tx.exec('SAVEPOINT plan');
      const { rows } = await tx.query<{ 'QUERY PLAN': unknown }>(
        `EXPLAIN (ANALYZE, FORMAT JSON) ${text}`,
        params,
      );
      await tx.exec('ROLLBACK TO SAVEPOINT plan');
      plans.push(rows[0]['QUERY PLAN']);
    });
    await new CatalogEventWriter(spy).applyEvents(
      items.map((item) =>
        attempt(item.id, 1, 1, { topic, outcome: 'delivered', statusCode: 200, error: null }),
      ),
    );
    expect(statements.filter(([text]) => /^SELECT\b[\s\S]*\bFROM deliveries\b/.test(text))).toEqual([]);
    expect((await catalog.messages.get(message.id))?.counts).toMatchObject({ delivered: 2000, pending: 0 });
    if (backend === 'postgres') {
      expect(plans).toHaveLength(1);
      // The planner knows the batch's size, and reads the batch (the function scan) once, not once
      // per row of the table; and it does not reach the rows through the partial index of unfinished
      // deliveries (deliveries_unfinished_topic, `<partition>_topic_idx` on a partition), which it
      // can only estimate at a row or two here. The plan it once chose (a
      // 100-row guess at the batch, one pending row through that index, the batch rescanned for
      // every pending row found) depended on the table's size; these are what it rested on.
      const nodes = planNodes(plans[0]);
      const scans = nodes.filter((node) => node['Node Type'] === 'Function Scan');
      expect(scans.map((node) => [node['Plan Rows'], node['Actual Rows'], node['Actual Loops']])).toEqual([
        [2000, 2000, 1],
      ]);
      expect(nodes.map((node) => node['Index Name']).filter((name) => /topic/.test(String(name)))).toEqual(
        [],
      );
    }
  });

  it('reads and folds a first attempt whose row moved on instead of overwriting it', async () => {
    // Delivered by another recorder's batch; then a replay of its first attempt, a retry.
    const done = await fanOut();
    await catalog.applyEvents([
      attempt(done.deliveryId, 1, 1, { topic, outcome: 'delivered', statusCode: 200, error: null }),
    ]);
    const before = await catalog.deliveries.get(done.deliveryId);
    // Cancelled before its first attempt was recorded.
    const cancelled = await fanOut();
    await catalog.applyEvents([
      { type: 'cancelled', deliveryId: cancelled.deliveryId, run: 1, reason: 'subscription deleted' },
    ]);
    const { reads } = await applyNoting([
      attempt(done.deliveryId, 1, 1, { topic, at: new Date().toISOString() }),
      attempt(cancelled.deliveryId, 1, 1, { topic }),
    ]);
    expect(new Set(reads).size).toBe(1);
    expect(await catalog.deliveries.get(done.deliveryId)).toEqual(before);
    expect(await catalog.deliveries.get(cancelled.deliveryId)).toMatchObject({
      status: 'cancelled',
      lastError: 'subscription deleted',
      attemptCount: 1,
    });
  });

  it('creates the row of a first attempt that arrives before its delivery was recorded', async () => {
    const subscriptionId = newId('sub');
    const messageId = newId('msg');
    const deliveryId = deliveryIdFor(messageId, subscriptionId);
    await applyNoting([attempt(deliveryId, 1, 1, { messageId, subscriptionId, topic })]);
    expect(await catalog.deliveries.get(deliveryId)).toMatchObject({
      messageId,
      subscriptionId,
      status: 'retrying',
      attemptCount: 1,
    });
  });

  it('does not revive a cancelled delivery with a retry of the same run', async () => {
    const { deliveryId } = await fanOut();
    await catalog.applyEvents([{ type: 'cancelled', deliveryId, run: 1, reason: 'topic deleted' }]);
    await catalog.applyEvents([attempt(deliveryId, 1, 1)]);
    expect(await catalog.deliveries.get(deliveryId)).toMatchObject({
      status: 'cancelled',
      lastError: 'topic deleted',
      attemptCount: 1,
    });
  });

  it('starts a delivery recorded after its attempts from its newest attempt', async () => {
    const sub = subscriptionInput(topic);
    const messageId = newId('msg');
    const deliveryId = deliveryIdFor(messageId, sub.id);
    await catalog.applyEvents([
      attempt(deliveryId, 1, 1),
      attempt(deliveryId, 1, 2, { outcome: 'delivered', statusCode: 200, error: null }),
    ]);
    await catalog.applyEvents([
      {
        type: 'deliveries',
        messageId,
        topic,
        items: [{ id: deliveryId, subscriptionId: sub.id, protocol: 'webhook' }],
      },
    ]);
    expect(await catalog.deliveries.get(deliveryId)).toMatchObject({
      status: 'delivered',
      attemptCount: 2,
      lastAttempt: 2,
      lastStatusCode: 200,
    });
  });

  it('creates a missing delivery from an attempt that carries its identity', async () => {
    const subscriptionId = newId('sub');
    const messageId = newId('msg');
    const deliveryId = deliveryIdFor(messageId, subscriptionId);
    const identity = { messageId, subscriptionId, topic, protocol: 'function' as const };
    await catalog.applyEvents([attempt(deliveryId, 1, 1, identity), attempt(deliveryId, 1, 2, identity)]);
    expect(await catalog.deliveries.get(deliveryId)).toMatchObject({
      messageId,
      subscriptionId,
      topic,
      protocol: 'function',
      attemptCount: 2,
      lastAttempt: 2,
    });
    await catalog.applyEvents([attempt(deliveryId, 1, 2, identity)]);
    expect((await catalog.deliveries.get(deliveryId))?.attemptCount).toBe(2);
  });

  it('records 1,000 attempts of 250 deliveries in one call', async () => {
    const sub = subscriptionInput(topic);
    await catalog.subscriptions.create(sub);
    const message = messagePayload(topic);
    const ids = Array.from({ length: 250 }, (_, i) =>
      deliveryIdFor(message.id, `sub_${String(i).padStart(26, '0')}`),
    );
    const events: CatalogEvent[] = [
      { type: 'message', message, matched: 250, filteredOut: 0 },
      {
        type: 'deliveries',
        messageId: message.id,
        topic,
        items: ids.map((id, i) => ({
          id,
          subscriptionId: `sub_${String(i).padStart(26, '0')}`,
          protocol: 'webhook' as const,
        })),
      },
    ];
    for (const id of ids) {
      for (let n = 1; n <= 4; n++) {
        events.push(
          n < 4
            ? attempt(id, 1, n)
            : attempt(id, 1, n, { outcome: 'delivered', statusCode: 200, error: null }),
        );
      }
    }
    await catalog.applyEvents(events);
    const { rows } = await catalog.sql.query<{ n: number; delivered: number; attempts: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE status = 'delivered' AND attempt_count = 4)::int AS delivered,
              sum(attempt_count)::int AS attempts
       FROM deliveries WHERE message_id = $1`,
      [message.id],
    );
    expect(rows[0]).toEqual({ n: 250, delivered: 250, attempts: 1000 });
    expect((await catalog.deliveries.get(ids[7]))?.attempts.map((a) => a.number)).toEqual([1, 2, 3, 4]);
    expect((await catalog.messages.get(message.id))?.counts).toMatchObject({ delivered: 250, pending: 0 });
  });

  it('does not bring back a dead letter that was redriven when its event is replayed', async () => {
    const { deliveryId, messageId, subscriptionId } = await fanOut();
    const dead: DeadEvent = {
      type: 'dead',
      id: newId('dlq'),
      deliveryId,
      run: 1,
      messageId,
      subscriptionId,
      topic,
      protocol: 'webhook',
      endpoint: 'https://example.com/x',
      attempts: 1,
      reason: 'retries exhausted',
      lastError: 'receiver answered 503 (attempt 1)',
      lastStatusCode: 503,
      deadAt: new Date().toISOString(),
    };
    const batch: CatalogEvent[] = [attempt(deliveryId, 1, 1, { outcome: 'failed' }), dead];
    await catalog.applyEvents(batch);
    const taken = await catalog.deadLetters.take({ ids: [dead.id] });
    expect(taken.map((d) => [d.id, d.run, d.newRun])).toEqual([[dead.id, 1, 2]]);
    await catalog.applyEvents(batch);
    expect(await catalog.deadLetters.get(dead.id)).toBeNull();
    // lastAttempt numbers attempts over every run, as the attempt list does: the new run made none yet.
    expect(await catalog.deliveries.get(deliveryId)).toMatchObject({
      status: 'pending',
      run: 2,
      lastAttempt: 1,
    });

    await catalog.applyEvents([
      attempt(deliveryId, 2, 1, { outcome: 'delivered', statusCode: 200, error: null }),
    ]);
    const delivery = await catalog.deliveries.get(deliveryId);
    expect(delivery).toMatchObject({ status: 'delivered', run: 2, attemptCount: 2 });
    expect(delivery?.attempts.map((a) => [a.number, a.run, a.outcome])).toEqual([
      [1, 1, 'failed'],
      [2, 2, 'delivered'],
    ]);
  });

  it('marks a delivery dead from a dead event even before its last attempt arrives', async () => {
    const { deliveryId, messageId, subscriptionId } = await fanOut();
    await catalog.applyEvents([
      {
        type: 'dead',
        id: newId('dlq'),
        deliveryId,
        run: 1,
        messageId,
        subscriptionId,
        topic,
        protocol: 'webhook',
        endpoint: 'https://example.com/y',
        attempts: 3,
        reason: 'retries exhausted',
        lastError: 'timeout',
        lastStatusCode: null,
        deadAt: new Date().toISOString(),
      },
    ]);
    await catalog.applyEvents([attempt(deliveryId, 1, 2)]);
    // The state moved to the dead event's position; lastAttempt is the newest attempt on record.
    expect(await catalog.deliveries.get(deliveryId)).toMatchObject({
      status: 'dead',
      lastError: 'timeout',
      lastAttempt: 1,
      attemptCount: 1,
    });
  });

  it('stores each kind of JSON body, attributes and per-protocol bodies as published', async () => {
    const bodies: unknown[] = [
      null,
      'plain text',
      0,
      12.5,
      false,
      [],
      [1, 'two', null],
      { a: { b: [true] } },
    ];
    const messages = bodies.map((body) =>
      messagePayload(topic, {
        body,
        subject: null,
        attributes: { kind: typeof body, n: 1 },
        bodyByProtocol: { email: 'for email', sms: null },
      }),
    );
    await catalog.applyEvents(
      messages.map((message) => ({ type: 'message', message, matched: 0, filteredOut: 0 })),
    );
    for (const message of messages) {
      const stored = await catalog.messages.getPayload(message.id);
      expect(stored).toMatchObject({
        body: message.body,
        subject: null,
        attributes: message.attributes,
        bodyByProtocol: { email: 'for email', sms: null },
      });
    }
  });

  it('stores text PostgreSQL would refuse (NUL, lone surrogates) instead of failing the batch', async () => {
    const message = messagePayload(topic, {
      subject: 'nul\u0000here',
      body: { text: 'a\u0000b \ud800 \\u0000 literal', ok: '😀' },
    });
    const deliveryId = deliveryIdFor(message.id, newId('sub'));
    await catalog.applyEvents([
      { type: 'message', message, matched: 0, filteredOut: 0 },
      attempt(deliveryId, 1, 1, { error: 'bad\u0000error' }),
    ]);
    const stored = await catalog.messages.getPayload(message.id);
    expect(stored?.subject).toBe('nul\ufffdhere');
    expect(stored?.body).toEqual({ text: 'a\ufffdb \ufffd \\u0000 literal', ok: '😀' });
    expect((await catalog.deliveries.get(deliveryId))?.attempts[0].error).toBe('bad\ufffderror');
  });

  it('rolls the whole batch back when one statement fails', async () => {
    const { deliveryId, messageId, subscriptionId } = await fanOut();
    const message = messagePayload(topic);
    // A dead letter without an endpoint breaks a NOT NULL constraint, after the other writes ran.
    const broken = {
      type: 'dead',
      id: newId('dlq'),
      deliveryId,
      run: 1,
      messageId,
      subscriptionId,
      topic,
      protocol: 'webhook',
      endpoint: null,
      attempts: 1,
      reason: 'broken',
      lastError: null,
      lastStatusCode: null,
      deadAt: new Date().toISOString(),
    } as unknown as CatalogEvent;
    await expect(
      catalog.applyEvents([
        { type: 'message', message, matched: 0, filteredOut: 0 },
        attempt(deliveryId, 1, 1),
        broken,
      ]),
    ).rejects.toThrow();
    expect(await catalog.messages.get(message.id)).toBeNull();
    expect((await catalog.deliveries.get(deliveryId))?.attempts).toEqual([]);
  });

  it('records a message fanned out at publish, and its first attempt, as one delivery row', async () => {
    const sub = subscriptionInput(topic);
    await catalog.subscriptions.create(sub);
    const message = messagePayload(topic);
    const deliveryId = deliveryIdFor(message.id, sub.id);
    await catalog.applyEvents([
      {
        type: 'message',
        message,
        matched: 1,
        filteredOut: 1,
        deliveries: [{ subscriptionId: sub.id, protocol: 'webhook' }],
      },
      attempt(deliveryId, 1, 1, { topic, outcome: 'delivered', statusCode: 200, error: null }),
    ]);
    expect(await catalog.deliveries.get(deliveryId)).toMatchObject({
      messageId: message.id,
      subscriptionId: sub.id,
      topic,
      status: 'delivered',
      attemptCount: 1,
    });
    expect((await catalog.messages.get(message.id))?.counts).toMatchObject({
      matched: 1,
      filteredOut: 1,
      delivered: 1,
      pending: 0,
    });
  });
});

/** Every node of an `EXPLAIN (FORMAT JSON)` plan. */
function planNodes(explained: unknown): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const visit = (node: Record<string, unknown>): void => {
    out.push(node);
    for (const child of (node.Plans as Array<Record<string, unknown>> | undefined) ?? []) visit(child);
  };
  for (const root of explained as Array<{ Plan: Record<string, unknown> }>) visit(root.Plan);
  return out;
}
