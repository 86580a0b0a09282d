import type { Socket } from 'node:net';
import type { PoolClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './catalog-test-support';
import { PgSqlDatabase } from './pg-sql-database';
import { columnArrays, jsonParam } from './sql-values';

/** Against the test PostgreSQL server: what a server that ends connections does to a transaction. */
describe('PgSqlDatabase', () => {
  let db: TestDatabase;
  let sql: PgSqlDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = await PgSqlDatabase.connect(db.url, 3);
  });
  afterAll(async () => {
    await sql?.close();
    await db?.drop();
  });

  it('fails a transaction whose connection the server ends between two statements, and serves the next one', async () => {
    const other = await PgSqlDatabase.connect(db.url, 1);
    try {
      const failed = sql.transaction(async (tx) => {
        const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        // The FATAL arrives on the idle connection, and the server closes its socket after it: wait for
        // that close before the next statement (which would otherwise be the one to fail, hiding the
        // case). Listening to the socket leaves the client's own 'error' to whatever handles it.
        const client = (tx as unknown as { client: PoolClient & { connection: { stream: Socket } } }).client;
        const fatal = new Promise((resolve) => client.connection.stream.once('close', resolve));
        // What a server shutdown does to every backend: FATAL 57P01, sent while this one is idle in
        // the transaction, with no statement of the pool's client waiting for it.
        await other.query('SELECT pg_terminate_backend($1, 5000)', [rows[0].pid]);
        await fatal;
        return tx.query('SELECT 1');
      });
      await expect(failed).rejects.toThrow(/terminat|not queryable|Connection/i);
      expect((await sql.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      expect(await sql.transaction(async (tx) => (await tx.query('SELECT 2 AS two')).rows)).toEqual([
        { two: 2 },
      ]);
    } finally {
      await other.close();
    }
  });

  /** Statements of other connections still running on the server, with their text. */
  async function running(marker: string): Promise<string[]> {
    const { rows } = await sql.query<{ query: string }>(
      `SELECT query FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE $1`,
      [`%${marker}%`],
    );
    return rows.map((r) => r.query);
  }

  it('has the server cancel a statement that runs past its transaction timeout, freeing its locks', async () => {
    await sql.exec(
      'CREATE TABLE IF NOT EXISTS timeout_probe (id int PRIMARY KEY); INSERT INTO timeout_probe VALUES (1), (2) ON CONFLICT DO NOTHING',
    );
    // Another writer holds row 2 until told to let go, so a statement waiting for it never ends by
    // itself: only a timeout ends it.
    const holder = await PgSqlDatabase.connect(db.url, 1);
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => {
      const holding = holder.transaction(async (tx) => {
        await tx.query('SELECT id FROM timeout_probe WHERE id = 2 FOR UPDATE');
        resolve();
        await new Promise<void>((release) => (letGo = release));
      });
      holding.catch(() => undefined);
    });
    try {
      await held;
      const slow = sql.transaction(
        async (tx) => {
          await tx.query('SELECT id FROM timeout_probe WHERE id = 1 FOR UPDATE');
          return tx.query('SELECT id FROM timeout_probe WHERE id = 2 FOR UPDATE /* timeout-probe */');
        },
        { statementTimeoutMs: 800 },
      );
      // PostgreSQL's own cancellation (57014), not the client giving up on a statement left running.
      await expect(slow).rejects.toMatchObject({ code: '57014' });
      expect(await running('timeout-probe')).toEqual([]);
      // The row lock went with the transaction: another writer takes it at once.
      const locked = await sql.transaction(
        async (tx) => (await tx.query('SELECT id FROM timeout_probe WHERE id = 1 FOR UPDATE NOWAIT')).rows,
      );
      expect(locked).toEqual([{ id: 1 }]);
    } finally {
      letGo?.();
      await holder.close();
    }
  });

  it('sets the server timeout of each statement: the pool default, a transaction own, none for exec', async () => {
    const shown = async (client: Pick<PgSqlDatabase, 'query'>) =>
      (await client.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0].statement_timeout;
    // A little under the client's own bound (5 s, or the transaction's), so the server cancels first.
    expect(await shown(sql)).toBe('4500ms');
    expect(await sql.transaction((tx) => shown(tx), { statementTimeoutMs: 60_000 })).toBe('59500ms');
    expect(await sql.transaction((tx) => shown(tx))).toBe('4500ms');
    // exec (migrations) runs untimed, and leaves its connection as it found it: the pool has 3.
    await sql.exec(
      `DO $$ BEGIN IF current_setting('statement_timeout') <> '0' THEN RAISE 'timed'; END IF; END $$`,
    );
    const after = await Promise.all([1, 2, 3].map(() => sql.transaction((tx) => shown(tx))));
    expect(after).toEqual(['4500ms', '4500ms', '4500ms']);
  });

  it('reads back every value of the array literals columnArrays writes, as node-postgres would send them', async () => {
    const texts = [
      'plain',
      '',
      'NULL',
      'a "quoted" word',
      'back\\slash\\',
      '\\"',
      '{braces},commas',
      ' spaced ',
      'ünï 😀',
      null,
    ];
    const jsons = [
      { error: 'said "no"', path: 'C:\\temp' },
      [1, '}{'],
      'NULL',
      null,
      { nested: { a: [null] } },
    ];
    const rows = texts.map((text, i) => ({ text, count: i === 3 ? null : i, doc: jsons[i % jsons.length] }));
    const [textArray, countArray, docArray] = columnArrays(rows, [
      ['text', 'text'],
      ['count', 'int'],
      ['doc', 'jsonb'],
    ]);
    const { rows: back } = await sql.query<{ text: string | null; count: number | null; doc: string }>(
      'SELECT x.text, x.count, x.doc::text AS doc FROM unnest($1::text[], $2::int[], $3::jsonb[]) AS x(text, count, doc)',
      [textArray, countArray, docArray],
    );
    expect(back.map((r) => r.text)).toEqual(texts);
    expect(back.map((r) => r.count)).toEqual(rows.map((r) => r.count));
    // jsonb's own text form of each document, as the driver's arrays produce it.
    const { rows: expected } = await sql.query<{ doc: string }>(
      'SELECT x.doc::text AS doc FROM unnest($1::jsonb[]) AS x(doc)',
      [rows.map((r) => jsonParam(r.doc) ?? 'null')],
    );
    expect(back.map((r) => r.doc)).toEqual(expected.map((r) => r.doc));
    expect(back.map((r) => JSON.parse(r.doc))).toEqual(rows.map((r) => r.doc));
  });
});
