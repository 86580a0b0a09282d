import { deliveryIdFor, idTime, newId, ulid, ulidTime } from '@herald/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Catalog } from './catalog';
import type { CatalogEvent } from './catalog-event';
import { CatalogEventWriter } from './catalog-event-writer';
import { DeadLettersRepository } from './dead-letters-repository';
import { DeliveriesRepository } from './deliveries-repository';
import {
  attemptEvent,
  BACKENDS,
  catalogForSuite,
  createTestDatabase,
  messagePayload,
  statementSpy,
  uniqueName,
  type TestDatabase,
} from './catalog-test-support';
import { DAY_MS, dayStart, partitionDay, partitionName, type HistoryOptions } from './history-keeper';
import { migrate } from './migrate';
import { MessagesRepository } from './messages-repository';
import { migrationsFor } from './migrations';
import { PgSqlDatabase } from './pg-sql-database';
import type { SqlClient } from './sql-client';

const NOW = Date.now();
const RETENTION: HistoryOptions = { retentionDays: 30, deadLetterRetentionDays: 90, now: () => NOW };

interface Recorded {
  messageId: string;
  deliveryId: string;
  deadLetterId: string | null;
}

/** A message made at `at` (its id says so) with one delivery, delivered or dead-lettered at once. */
function recordedAt(topic: string, at: number, dead = false): { events: CatalogEvent[]; ids: Recorded } {
  const message = messagePayload(topic, { id: `msg_${ulid(at)}`, publishedAt: new Date(at).toISOString() });
  const subscriptionId = newId('sub');
  const deliveryId = deliveryIdFor(message.id, subscriptionId);
  const events: CatalogEvent[] = [
    {
      type: 'message',
      message,
      matched: 1,
      filteredOut: 0,
      deliveries: [{ subscriptionId, protocol: 'webhook' }],
    },
    attemptEvent(deliveryId, 1, 1, {
      topic,
      at: new Date(at).toISOString(),
      outcome: dead ? 'failed' : 'delivered',
      statusCode: dead ? 400 : 200,
    }),
  ];
  const deadLetterId = dead ? `dlq_${ulid(at)}` : null;
  if (deadLetterId) {
    events.push({
      type: 'dead',
      id: deadLetterId,
      deliveryId,
      run: 1,
      messageId: message.id,
      subscriptionId,
      topic,
      protocol: 'webhook',
      endpoint: 'https://example.com/hook',
      attempts: 1,
      reason: 'receiver refused it',
      lastError: 'receiver answered 400',
      lastStatusCode: 400,
      deadAt: new Date(at).toISOString(),
    });
  }
  return { events, ids: { messageId: message.id, deliveryId, deadLetterId } };
}

async function record(catalog: Catalog, topic: string, at: number, dead = false): Promise<Recorded> {
  const { events, ids } = recordedAt(topic, at, dead);
  await catalog.applyEvents(events);
  return ids;
}

describe.each(BACKENDS)('HistoryKeeper on %s', (backend) => {
  const opened = catalogForSuite(backend);
  let catalog: Catalog;
  beforeEach(() => {
    catalog = opened();
  });

  it('removes messages and deliveries older than the retention, keeping those of a dead letter', async () => {
    const topic = uniqueName('history');
    await catalog.historyKeeper(RETENTION).ensurePartitions(NOW - 45 * DAY_MS, NOW);
    const old = await record(catalog, topic, NOW - 40 * DAY_MS);
    const oldDead = await record(catalog, topic, NOW - 40 * DAY_MS + 1, true);
    const justOld = await record(catalog, topic, NOW - 30 * DAY_MS - 60_000);
    const recent = await record(catalog, topic, NOW - 29 * DAY_MS);
    const report = await catalog.historyKeeper(RETENTION).run();
    expect(report.ran).toBe(true);

    expect(await catalog.messages.get(old.messageId)).toBeNull();
    expect(await catalog.deliveries.get(old.deliveryId)).toBeNull();
    // A whole day goes on PostgreSQL, so a row just past the retention stays until its day has passed.
    const justOldKept =
      backend === 'postgres' && dayStart(NOW - 30 * DAY_MS - 60_000) + DAY_MS > NOW - 30 * DAY_MS;
    expect((await catalog.deliveries.get(justOld.deliveryId)) !== null).toBe(justOldKept);
    expect(await catalog.messages.get(recent.messageId)).not.toBeNull();
    expect(await catalog.deliveries.get(recent.deliveryId)).not.toBeNull();

    const entry = await catalog.deadLetters.get(oldDead.deadLetterId!);
    expect(entry?.message?.id).toBe(oldDead.messageId);
    expect(entry?.attempts).toHaveLength(1);
    expect((await catalog.deliveries.get(oldDead.deliveryId))?.status).toBe('dead');
  });

  it('deletes dead letters after their own retention, then what they kept', async () => {
    const topic = uniqueName('history');
    const dead = await record(catalog, topic, NOW - 100 * DAY_MS, true);
    const young = await record(catalog, topic, NOW - 50 * DAY_MS, true);
    const first = await catalog.historyKeeper(RETENTION).run();
    expect(first.deleted.deadLetters).toBeGreaterThanOrEqual(1);
    expect(await catalog.deadLetters.get(dead.deadLetterId!)).toBeNull();
    expect(await catalog.messages.get(dead.messageId)).toBeNull();
    expect(await catalog.deliveries.get(dead.deliveryId)).toBeNull();
    expect((await catalog.deadLetters.get(young.deadLetterId!))?.message?.id).toBe(young.messageId);

    // Once redriven (taken), nothing keeps the young one's message any more.
    await catalog.deadLetters.take({ ids: [young.deadLetterId!] });
    await catalog.historyKeeper(RETENTION).run();
    expect(await catalog.messages.get(young.messageId)).toBeNull();
    expect(await catalog.deliveries.get(young.deliveryId)).toBeNull();
  });

  it('deletes in batches until every old row is gone', async () => {
    const topic = uniqueName('history');
    const events: CatalogEvent[] = [];
    const ids: Recorded[] = [];
    for (let i = 0; i < 2_500; i++) {
      const made = recordedAt(topic, NOW - 60 * DAY_MS + i);
      events.push(...made.events);
      ids.push(made.ids);
    }
    await catalog.applyEvents(events);
    const report = await catalog.historyKeeper(RETENTION).run();
    // On PostgreSQL these rows sit in the default partition (no partition covers their days).
    expect(report.deleted.deliveries).toBeGreaterThanOrEqual(2_500);
    expect(report.deleted.messages).toBeGreaterThanOrEqual(2_500);
    for (const i of [0, 999, 1_000, 2_499]) {
      expect(await catalog.messages.get(ids[i].messageId)).toBeNull();
      expect(await catalog.deliveries.get(ids[i].deliveryId)).toBeNull();
    }
  });
});

/** Which partition holds each id of `table`. */
async function partitionsOf(sql: SqlClient, table: string, ids: string[]): Promise<Map<string, string>> {
  const { rows } = await sql.query<{ id: string; part: string }>(
    `SELECT id, tableoid::regclass::text AS part FROM ${table} WHERE id = ANY($1::text[])`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r.part]));
}

async function partitionNames(sql: SqlClient, table: string): Promise<string[]> {
  const { rows } = await sql.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = $1::regclass ORDER BY 1`,
    [table],
  );
  return rows.map((r) => r.name);
}

/** Every relation an EXPLAIN (FORMAT JSON) plan reads. */
function relationsOf(plan: unknown): string[] {
  if (Array.isArray(plan)) return plan.flatMap(relationsOf);
  if (typeof plan !== 'object' || plan === null) return [];
  const node = plan as Record<string, unknown>;
  const own = typeof node['Relation Name'] === 'string' ? [node['Relation Name']] : [];
  return [...own, ...Object.values(node).flatMap(relationsOf)];
}

/** The partition a row of `table` with this id belongs in. */
function dayPartition(table: string, id: string): string {
  return partitionName(table, dayStart(idTime(id)!.getTime()));
}

describe('Partitioned history on PostgreSQL', () => {
  let db: TestDatabase;
  let catalog: Catalog;

  beforeAll(async () => {
    db = await createTestDatabase();
    catalog = await Catalog.open(db.url, { poolSize: 4 });
  });
  afterAll(async () => {
    await catalog.close();
    await db.drop();
  });

  it('encodes ULID times in SQL as Herald does', async () => {
    for (const ms of [0, 1, 1_700_000_000_123, Date.UTC(2030, 0, 1), 2 ** 48 - 1]) {
      const { rows } = await catalog.sql.query<{ time: string; ms: string }>(
        'SELECT herald_ulid_time($1) AS time, herald_ulid_ms(herald_ulid_time($1)) AS ms',
        [ms],
      );
      expect(rows[0]).toEqual({ time: ulidTime(ms), ms: String(ms) });
    }
  });

  it('has the coming week partitioned from the start', async () => {
    const names = await partitionNames(catalog.sql, 'deliveries');
    for (let d = 0; d <= 7; d++)
      expect(names).toContain(partitionName('deliveries', dayStart(Date.now()) + d * DAY_MS));
    expect(names).toContain('deliveries_before');
    expect(names).toContain('deliveries_after');
  });

  it('puts a delivery in the partition of its message, and a row beyond the days partitioned in "after"', async () => {
    const topic = uniqueName('parts');
    const today = await record(catalog, topic, NOW);
    const future = await record(catalog, topic, NOW + 20 * DAY_MS);
    const parts = await partitionsOf(catalog.sql, 'deliveries', [today.deliveryId, future.deliveryId]);
    expect(parts.get(today.deliveryId)).toBe(partitionName('deliveries', dayStart(NOW)));
    expect(parts.get(future.deliveryId)).toBe('deliveries_after');
    expect((await partitionsOf(catalog.sql, 'messages', [today.messageId])).get(today.messageId)).toBe(
      partitionName('messages', dayStart(NOW)),
    );

    // When that day's partition is made, the row moves out of the "after" partition into it.
    const later = { ...RETENTION, retentionDays: 365, now: () => NOW + 15 * DAY_MS };
    const report = await catalog.historyKeeper(later).run();
    expect(report.created).toContain(partitionName('deliveries', dayStart(NOW + 20 * DAY_MS)));
    expect((await partitionsOf(catalog.sql, 'deliveries', [future.deliveryId])).get(future.deliveryId)).toBe(
      partitionName('deliveries', dayStart(NOW + 20 * DAY_MS)),
    );
    expect((await catalog.deliveries.get(future.deliveryId))?.status).toBe('delivered');
  });

  it('reads one partition for every lookup by id, and the writer plans its update over one', async () => {
    const topic = uniqueName('prune');
    const dead = await record(catalog, topic, NOW, true);
    const { spy, statements } = statementSpy(catalog.sql);
    await new DeliveriesRepository(spy).get(dead.deliveryId);
    await new DeliveriesRepository(spy).listByMessage(dead.messageId);
    await new MessagesRepository(spy).get(dead.messageId);
    await new MessagesRepository(spy).getPayload(dead.messageId);
    await new DeadLettersRepository(spy).get(dead.deadLetterId!);
    // The writer too, on a batch that updates a delivery recorded before.
    const retried = recordedAt(topic, NOW);
    await catalog.applyEvents(retried.events.slice(0, 1));
    await new CatalogEventWriter(spy).applyEvents([attemptEvent(retried.ids.deliveryId, 1, 2, { topic })]);
    expect(statements.some(([text]) => text.startsWith('UPDATE deliveries'))).toBe(true);
    for (const [text, params] of statements) {
      const { rows } = await catalog.sql.query<{ 'QUERY PLAN': unknown }>(
        `EXPLAIN (FORMAT JSON) ${text}`,
        params,
      );
      const scanned = relationsOf(rows[0]['QUERY PLAN']).filter((r) => /^(messages|deliveries)_/.test(r));
      for (const table of ['messages', 'deliveries']) {
        // An UPDATE names its partition twice: as the target and as the scan.
        const parts = [...new Set(scanned.filter((r) => r.startsWith(`${table}_`)))];
        expect(parts.length, `${text}\n scans ${parts.join(', ')}`).toBeLessThanOrEqual(1);
        expect(parts.every((p) => p === partitionName(table, dayStart(NOW)))).toBe(true);
      }
    }
  });

  it('drops whole days past the retention and makes each partition once when processes race', async () => {
    const partitioned = (await partitionNames(catalog.sql, 'messages')).map(
      (n) => partitionDay('messages', n) ?? 0,
    );
    const first = Math.max(...partitioned) + DAY_MS;
    const keepers = await Promise.all(Array.from({ length: 3 }, () => Catalog.open(db.url, { poolSize: 2 })));
    try {
      const results = await Promise.all(
        keepers.map((k) => k.historyKeeper(RETENTION).ensurePartitions(first, first + 2 * DAY_MS)),
      );
      const made = results.flatMap((r) => r ?? []);
      expect(new Set(made).size).toBe(made.length);
      // Whoever found the lock taken left the work to the one holding it; a second round completes it.
      await catalog.historyKeeper(RETENTION).ensurePartitions(first, first + 2 * DAY_MS);
      const names = await partitionNames(catalog.sql, 'messages');
      for (let d = 0; d <= 2; d++)
        expect(names).toContain(partitionName('messages', dayStart(first) + d * DAY_MS));
    } finally {
      await Promise.all(keepers.map((k) => k.close()));
    }

    // 33 days later, those three days are past a 30-day retention; the days after are not.
    const later = { ...RETENTION, now: () => first + 2 * DAY_MS + 31 * DAY_MS };
    const report = await catalog.historyKeeper(later).run();
    for (let d = 0; d <= 2; d++) {
      expect(report.dropped).toContain(partitionName('messages', dayStart(first) + d * DAY_MS));
      expect(report.dropped).toContain(partitionName('deliveries', dayStart(first) + d * DAY_MS));
    }
    const names = await partitionNames(catalog.sql, 'deliveries');
    expect(
      names.map((n) => partitionDay('deliveries', n)).filter((d) => d !== null && d <= first + 2 * DAY_MS),
    ).toEqual([]);
    expect(names).toContain(partitionName('deliveries', dayStart(later.now())));
  });
});

describe('Migration 4 on PostgreSQL', () => {
  it('moves the rows of an existing catalog into the partitions of their days', async () => {
    const db = await createTestDatabase();
    try {
      const sql = await PgSqlDatabase.connect(db.url, 2);
      await migrate(sql, migrationsFor('postgres').slice(0, 3));
      const days = [-4000, -45, -3, -1, 0, 2, 30];
      const rows = days.map((d) => {
        const messageId = `msg_${ulid(NOW + d * DAY_MS)}`;
        return { messageId, deliveryId: deliveryIdFor(messageId, newId('sub')) };
      });
      for (const r of rows) {
        await sql.query(`INSERT INTO messages (id, topic, published_at) VALUES ($1, 't', now())`, [
          r.messageId,
        ]);
        await sql.query(
          `INSERT INTO deliveries (id, message_id, subscription_id, topic, protocol, status, attempts)
           VALUES ($1, $2, 'sub_x', 't', 'webhook', 'delivered', '[{"run":1,"attempt":1}]')`,
          [r.deliveryId, r.messageId],
        );
      }
      await sql.close();

      const catalog = await Catalog.open(db.url, { poolSize: 2 });
      try {
        const messages = await partitionsOf(
          catalog.sql,
          'messages',
          rows.map((r) => r.messageId),
        );
        const deliveries = await partitionsOf(
          catalog.sql,
          'deliveries',
          rows.map((r) => r.deliveryId),
        );
        rows.forEach((r, i) => {
          // 30 days ahead is beyond the week partitioned in advance, 4,000 days back beyond the ten
          // years partitioned at most: the "after" and "before" partitions hold them.
          const edge = days[i] > 7 ? 'after' : days[i] < -3650 ? 'before' : null;
          for (const [table, id] of [
            ['messages', r.messageId],
            ['deliveries', r.deliveryId],
          ] as const) {
            const part = (table === 'messages' ? messages : deliveries).get(id);
            expect(part).toBe(edge ? `${table}_${edge}` : dayPartition(table, id));
          }
        });
        // Every day from the oldest (within ten years) to a week ahead has its partition.
        const names = await partitionNames(catalog.sql, 'messages');
        for (let d = -45; d <= 7; d++)
          expect(names).toContain(partitionName('messages', dayStart(NOW) + d * DAY_MS));
        expect((await catalog.deliveries.get(rows[0].deliveryId))?.attempts).toHaveLength(1);
        const { rows: left } = await catalog.sql.query(
          `SELECT 1 FROM pg_class WHERE relname IN ('messages_v2', 'deliveries_v2')`,
        );
        expect(left).toEqual([]);
      } finally {
        await catalog.close();
      }
    } finally {
      await db.drop();
    }
  });
});
