/** The rows of one statement and how many rows it touched. */
export interface SqlResult<R> {
  rows: R[];
  rowCount: number;
}

/**
 * The only surface the repositories use, so one set of SQL runs on node-postgres and on PGlite.
 * Parameters are positional (`$1`); pass JSON as text (`$1::text::jsonb`) and dates as ISO strings so
 * both drivers serialise them the same way.
 */
export interface SqlClient {
  query<R extends object = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
  ): Promise<SqlResult<R>>;
  /** Runs one or more statements without parameters (migrations). */
  exec(text: string): Promise<void>;
  /** Runs `fn` in one transaction; inside a transaction it simply runs `fn` on the same transaction. */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
}

/** A SqlClient that owns its connection(s). */
export interface SqlDatabase extends SqlClient {
  readonly driver: 'postgres' | 'pglite';
  close(): Promise<void>;
}
