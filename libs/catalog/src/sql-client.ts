/** The rows of one statement and how many rows it touched. */
export interface SqlResult<R> {
  rows: R[];
  rowCount: number;
}

/** The two engines the catalog runs on: a PostgreSQL server, or the embedded SQLite file. */
export type SqlDialect = 'postgres' | 'sqlite';

/**
 * The only surface the repositories use, so one set of SQL runs on node-postgres and on SQLite.
 * SQL is written in PostgreSQL's form with positional parameters (`$1`); the SQLite driver rewrites
 * the few PostgreSQL-only spellings it meets (casts, `now()`, `= ANY($n)`; see sqlite-sql.ts). Pass
 * JSON as text (`$1::text::jsonb`) and dates as ISO strings so both drivers store them the same way.
 * Statements the two engines cannot share branch on `dialect`.
 */
export interface SqlClient {
  readonly dialect: SqlDialect;
  query<R extends object = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
  ): Promise<SqlResult<R>>;
  /**
   * Runs one statement once for each parameter list, in order, and returns the rows of all of them.
   * The batch writer's way to write many rows on SQLite, where a prepared statement run per row costs
   * less than unpacking a JSON recordset; node-postgres sends each run as its own round trip, so
   * PostgreSQL writers send a recordset instead.
   */
  queryEach<R extends object = Record<string, unknown>>(
    text: string,
    paramLists: readonly (readonly unknown[])[],
  ): Promise<SqlResult<R>>;
  /** Runs one or more statements without parameters (migrations). */
  exec(text: string): Promise<void>;
  /** Runs `fn` in one transaction; inside a transaction it simply runs `fn` on the same transaction. */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>, options?: TransactionOptions): Promise<T>;
}

export interface TransactionOptions {
  /**
   * How long one statement of this transaction may wait for the server (PostgreSQL), in place of
   * STATEMENT_TIMEOUT_MS: background writers that may move large batches pass BACKGROUND_STATEMENT_TIMEOUT_MS.
   */
  statementTimeoutMs?: number;
}

/**
 * How long a statement may wait for PostgreSQL before it fails (and an API request answers 503): a
 * hung or partitioned server is reported in seconds, not after a TCP timeout.
 */
export const STATEMENT_TIMEOUT_MS = 5_000;
/** The same bound for the catalog writers and history upkeep, whose batches can be large. */
export const BACKGROUND_STATEMENT_TIMEOUT_MS = 60_000;

/** A SqlClient that owns its connection(s). */
export interface SqlDatabase extends SqlClient {
  close(): Promise<void>;
}
