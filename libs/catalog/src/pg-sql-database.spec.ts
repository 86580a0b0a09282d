import type { Socket } from 'node:net';
import type { PoolClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './catalog-test-support';
import { PgSqlDatabase } from './pg-sql-database';

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
});
