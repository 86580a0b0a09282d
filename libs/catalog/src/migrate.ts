import { migrationsFor } from './migrations';
import type { SqlClient } from './sql-client';

/** Arbitrary but fixed: every Herald process migrating the same PostgreSQL database waits on this lock. */
const MIGRATION_LOCK_KEY = 4_812_302_117;

/**
 * Applies the migrations not yet recorded in `herald_migrations`, all in one transaction. On
 * PostgreSQL a transaction-scoped advisory lock makes processes that start together take turns: the
 * second sees the first one's work once it commits (SQLite's write transaction does the same).
 * Returns the versions applied.
 */
export async function migrate(
  client: SqlClient,
  migrations: readonly string[] = migrationsFor(client.dialect),
): Promise<number[]> {
  return client.transaction(async (tx) => {
    if (tx.dialect === 'postgres') await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await tx.exec(
      `CREATE TABLE IF NOT EXISTS herald_migrations (
         version integer PRIMARY KEY,
         applied_at ${tx.dialect === 'postgres' ? 'timestamptz' : 'text'} NOT NULL DEFAULT ${
           tx.dialect === 'postgres' ? 'now()' : `(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`
         }
       )`,
    );
    const { rows } = await tx.query<{ version: number }>('SELECT version FROM herald_migrations');
    const applied = new Set(rows.map((r) => r.version));
    const newest = Math.max(0, ...applied);
    if (newest > migrations.length) {
      throw new Error(
        `The catalog database is at schema version ${newest}, newer than this Herald (${migrations.length}). Upgrade Herald.`,
      );
    }
    const done: number[] = [];
    for (let i = 0; i < migrations.length; i++) {
      const version = i + 1;
      if (applied.has(version)) continue;
      await tx.exec(migrations[i]);
      await tx.query('INSERT INTO herald_migrations (version) VALUES ($1)', [version]);
      done.push(version);
    }
    return done;
  });
}
