import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { SqlClient, SqlDatabase, SqlResult } from './sql-client';

type Queryable = Pick<Transaction, 'query' | 'exec'>;

class PgliteTransaction implements SqlClient {
  constructor(private readonly tx: Transaction) {}

  async query<R extends object>(text: string, params: readonly unknown[] = []): Promise<SqlResult<R>> {
    return run<R>(this.tx, text, params);
  }

  async exec(text: string): Promise<void> {
    await this.tx.exec(text);
  }

  async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    return fn(this);
  }
}

async function run<R extends object>(
  db: Queryable,
  text: string,
  params: readonly unknown[],
): Promise<SqlResult<R>> {
  const result = await db.query<R>(text, params as unknown[]);
  return { rows: result.rows, rowCount: Math.max(result.affectedRows ?? 0, result.rows.length) };
}

/** The embedded catalog: PGlite (Postgres in WebAssembly) on a folder, or in memory for tests. */
export class PgliteSqlDatabase implements SqlDatabase {
  readonly driver = 'pglite' as const;

  private constructor(private readonly db: PGlite) {}

  /** `dataDir` is a folder, or `memory://` for a throwaway database. */
  static async open(dataDir: string): Promise<PgliteSqlDatabase> {
    return new PgliteSqlDatabase(await PGlite.create(dataDir));
  }

  async query<R extends object>(text: string, params: readonly unknown[] = []): Promise<SqlResult<R>> {
    return run<R>(this.db, text, params);
  }

  async exec(text: string): Promise<void> {
    await this.db.exec(text);
  }

  async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn(new PgliteTransaction(tx)));
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
