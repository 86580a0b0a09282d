import Database from 'better-sqlite3';
import { LRUCache } from 'lru-cache';
import type { SqlClient, SqlDatabase, SqlResult } from './sql-client';
import { sqliteRowReader, toSqliteParam, toSqliteSql, toSqlError, type SqliteRowReader } from './sqlite-sql';

type Statement = Database.Statement<unknown[], unknown[]>;

/** A prepared statement and, for one that returns rows (in raw mode), the reader of its rows. */
interface Prepared {
  stmt: Statement;
  read: SqliteRowReader | null;
  columns: number;
}

/** The embedded catalog's file inside its folder. */
export const SQLITE_FILE = 'catalog.sqlite3';

/**
 * The embedded catalog: one SQLite file (better-sqlite3, in this process, synchronous and fast), or
 * `:memory:` for tests. better-sqlite3 has one connection, so a transaction holds a lock that other
 * callers wait for; a query outside a transaction runs at once, never across an await.
 */
export class SqliteSqlDatabase implements SqlDatabase {
  readonly dialect = 'sqlite' as const;
  private readonly statements = new LRUCache<string, Prepared>({ max: 500 });
  private locked = false;
  private readonly waiting: Array<() => void> = [];

  private constructor(private readonly db: Database.Database) {}

  /** Opens (creating when needed) the file at `path`, or a throwaway database for `:memory:`. */
  static open(path: string): SqliteSqlDatabase {
    const db = new Database(path);
    // WAL: readers never wait for the writer; NORMAL: a commit survives the process being killed (the
    // WAL is in the OS's cache), only a power loss can take the last commits.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // 8 MB of page cache per connection (the default is 2 MB) for the recent delivery pages the
    // recorder updates; older pages come from the OS's file cache. 32 MB bought no speed and, with a
    // connection per thread, cost 50 MB of resident memory once a large fan-out had filled it.
    db.pragma('cache_size = -8192');
    db.pragma('temp_store = MEMORY');
    return new SqliteSqlDatabase(db);
  }

  async query<R extends object>(text: string, params: readonly unknown[] = []): Promise<SqlResult<R>> {
    return this.queryEach<R>(text, [params]);
  }

  async queryEach<R extends object>(
    text: string,
    paramLists: readonly (readonly unknown[])[],
  ): Promise<SqlResult<R>> {
    if (!this.locked) return this.runEach<R>(text, paramLists);
    await this.acquire();
    try {
      return this.runEach<R>(text, paramLists);
    } finally {
      this.release();
    }
  }

  async exec(text: string): Promise<void> {
    await this.transaction(async () => {
      this.db.exec(text);
    });
  }

  async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(new SqliteTransaction(this));
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    } finally {
      this.release();
    }
  }

  async close(): Promise<void> {
    await this.acquire();
    this.db.close();
  }

  /** Runs one prepared statement once per parameter list (the caller holds the lock, or nothing does). */
  runEach<R extends object>(text: string, paramLists: readonly (readonly unknown[])[]): SqlResult<R> {
    try {
      let prepared = this.prepare(text);
      const rows: R[] = [];
      let rowCount = 0;
      for (const params of paramLists) {
        const bound = params.length === 0 ? null : bindings(params);
        const { stmt, read } = prepared;
        if (read) {
          const values = bound ? stmt.all(bound) : stmt.all();
          // A schema change since the statement was prepared (SQLite prepares it again) can change
          // its columns: read them again.
          if (values.length > 0 && values[0].length !== prepared.columns) prepared = this.prepare(text, true);
          for (const row of values) rows.push(prepared.read!(row) as R);
        } else {
          rowCount += (bound ? stmt.run(bound) : stmt.run()).changes;
        }
      }
      return { rows, rowCount: prepared.read ? rows.length : rowCount };
    } catch (err) {
      throw toSqlError(err);
    }
  }

  /** Runs several statements in the current transaction (migrations). */
  execNow(text: string): void {
    this.db.exec(text);
  }

  private prepare(text: string, again = false): Prepared {
    let prepared = again ? undefined : this.statements.get(text);
    if (!prepared) {
      const stmt = this.db.prepare<unknown[], unknown[]>(toSqliteSql(text));
      if (stmt.reader) {
        stmt.raw(true);
        const columns = stmt.columns().map((c) => c.name);
        prepared = { stmt, read: sqliteRowReader(columns), columns: columns.length };
      } else {
        prepared = { stmt, read: null, columns: 0 };
      }
      this.statements.set(text, prepared);
    }
    return prepared;
  }

  private async acquire(): Promise<void> {
    if (!this.locked) {
      this.locked = true;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    // The lock passes straight to the next waiter.
    if (next) next();
    else this.locked = false;
  }
}

/** Inside a transaction: statements run at once on the one connection, which the transaction holds. */
class SqliteTransaction implements SqlClient {
  readonly dialect = 'sqlite' as const;

  constructor(private readonly db: SqliteSqlDatabase) {}

  async query<R extends object>(text: string, params: readonly unknown[] = []): Promise<SqlResult<R>> {
    return this.db.runEach<R>(text, [params]);
  }

  async queryEach<R extends object>(
    text: string,
    paramLists: readonly (readonly unknown[])[],
  ): Promise<SqlResult<R>> {
    return this.db.runEach<R>(text, paramLists);
  }

  async exec(text: string): Promise<void> {
    this.db.execNow(text);
  }

  async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    return fn(this);
  }
}

/** `$1`, `$2`, … are SQLite named parameters "1", "2", …: bind them from an object. */
function bindings(params: readonly unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < params.length; i++) out[i + 1] = toSqliteParam(params[i]);
  return out;
}
