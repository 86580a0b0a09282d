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
        // What a server shutdown does to every backend: FATAL 57P01, sent while this one is idle in
        // the transaction, with no statement of the pool's client waiting for it.
        // (The second argument waits until the backend has gone, having sent its FATAL.)
        await other.query('SELECT pg_terminate_backend($1, 5000)', [rows[0].pid]);
        // The FATAL arrives as an event of the idle connection: give the loop a moment to read it
        // before the next statement (which would otherwise be the one to fail, hiding the case).
        await new Promise((resolve) => setTimeout(resolve, 100));
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
