import { Pool, type PoolClient, type QueryConfig, type QueryResultRow } from 'pg';
import {
  STATEMENT_TIMEOUT_MS,
  type SqlClient,
  type SqlDatabase,
  type SqlResult,
  type TransactionOptions,
} from './sql-client';

type Queryable = Pick<PoolClient, 'query'>;

/**
 * `exec` runs migrations, which may copy whole tables: no client-side timeout (node-postgres takes 0
 * for "the pool's", so this is the longest a timer allows, 24 days).
 */
const EXEC_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * How much earlier than node-postgres's timeout the server cancels a statement (statement_timeout):
 * a statement that runs too long is cancelled by the server, which frees its row locks, and fails
 * with PostgreSQL's 57014; the client's own timeout, at the full bound, is for a server that cannot
 * answer at all (hung, unreachable). A client-side timeout alone leaves the statement running on the
 * server, holding its locks against every retry of the same batch.
 */
const SERVER_EARLIER_MS = 500;

/** The server's statement_timeout for a client-side bound of `ms`. */
function serverTimeout(ms: number): number {
  return Math.max(1, ms - SERVER_EARLIER_MS);
}

/** A statement without the pool's timeout (node-postgres reads `query_timeout`; its types omit it). */
function untimed(text: string): QueryConfig {
  return { text, query_timeout: EXEC_TIMEOUT_MS } as QueryConfig;
}

class PgTransaction implements SqlClient {
  readonly dialect = 'postgres' as const;

  constructor(
    private readonly client: PoolClient,
    /** How long a statement may take (the server cancels it a little earlier). */
    private readonly timeoutMs: number,
  ) {}

  async query<R extends object>(text: string, params: readonly unknown[] = []): Promise<SqlResult<R>> {
    return run<R>(this.client, text, params, this.timeoutMs);
  }

  async queryEach<R extends object>(
    text: string,
    paramLists: readonly (readonly unknown[])[],
  ): Promise<SqlResult<R>> {
    return runEach<R>((params) => this.query<R>(text, params), paramLists);
  }

  /** Migrations, which may copy whole tables: no timeout on either side. */
  async exec(text: string): Promise<void> {
    await this.client.query(untimed(withoutTimeout(text, setLocalTimeout(this.timeoutMs))));
  }

  async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    return fn(this);
  }
}

/**
 * `text` with the server's statement_timeout off around it, as one simple-protocol string (one
 * round trip): SET LOCAL lasts to the end of the transaction, the explicit one or the implicit one
 * a multi-statement string runs in; `then` restores a bound. The text goes on its own lines, so a
 * trailing comment in it cannot swallow what follows.
 */
function withoutTimeout(text: string, then = ''): string {
  return `SET LOCAL statement_timeout = 0;\n${text}\n;${then}`;
}

function setLocalTimeout(ms: number): string {
  return `SET LOCAL statement_timeout = ${Math.round(serverTimeout(ms))}`;
}

/** One statement per parameter list, one after the other (each a round trip). */
async function runEach<R extends object>(
  query: (params: readonly unknown[]) => Promise<SqlResult<R>>,
  paramLists: readonly (readonly unknown[])[],
): Promise<SqlResult<R>> {
  const out: SqlResult<R> = { rows: [], rowCount: 0 };
  for (const params of paramLists) {
    const result = await query(params);
    out.rows.push(...result.rows);
    out.rowCount += result.rowCount;
  }
  return out;
}

async function run<R extends object>(
  db: Queryable,
  text: string,
  params: readonly unknown[],
  /** The client's timeout; the pool's (STATEMENT_TIMEOUT_MS) when left out. */
  timeoutMs?: number,
): Promise<SqlResult<R>> {
  const result =
    timeoutMs === undefined
      ? await db.query<R & QueryResultRow>(text, params as unknown[])
      : await db.query<R & QueryResultRow>({
          text,
          values: params as unknown[],
          query_timeout: timeoutMs,
        } as QueryConfig);
  return { rows: result.rows, rowCount: result.rowCount ?? result.rows.length };
}

/** The catalog on a real PostgreSQL server through a node-postgres pool. */
export class PgSqlDatabase implements SqlDatabase {
  readonly dialect = 'postgres' as const;

  private constructor(private readonly pool: Pool) {}

  /** Connects and checks the server answers, so a wrong URL fails at start rather than on first use. */
  static async connect(connectionString: string, poolSize = 10): Promise<PgSqlDatabase> {
    // Bounded waits, so a catalog outage is an error in seconds (answered 503), never a hang.
    const pool = new Pool({
      connectionString,
      max: poolSize,
      connectionTimeoutMillis: 2_000,
      // The server cancels a statement a little before the client would give up on it.
      statement_timeout: serverTimeout(STATEMENT_TIMEOUT_MS),
      query_timeout: STATEMENT_TIMEOUT_MS,
      // A server that vanished without closing the connection (a partition) is noticed by the kernel.
      keepAlive: true,
    });
    // An idle client losing its connection (server restart) must not crash the process: the pool
    // drops it and the next query opens a new one.
    pool.on('error', () => undefined);
    try {
      await pool.query('SELECT 1');
    } catch (err) {
      await pool.end();
      throw new Error(
        `Cannot connect to PostgreSQL at ${describeTarget(connectionString)}: ${messageOf(err)}`,
      );
    }
    return new PgSqlDatabase(pool);
  }

  async query<R extends object>(text: string, params: readonly unknown[] = []): Promise<SqlResult<R>> {
    return run<R>(this.pool, text, params);
  }

  async queryEach<R extends object>(
    text: string,
    paramLists: readonly (readonly unknown[])[],
  ): Promise<SqlResult<R>> {
    return runEach<R>((params) => this.query<R>(text, params), paramLists);
  }

  /**
   * Statements without parameters and without a timeout on either side (migrations, set-up), in one
   * implicit transaction, as any multi-statement string runs.
   */
  async exec(text: string): Promise<void> {
    await this.pool.query(untimed(withoutTimeout(text)));
  }

  async transaction<T>(fn: (tx: SqlClient) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const client = await this.pool.connect();
    // The pool listens for errors of idle clients only. A server that ends the connection while this
    // one is checked out but between two statements (a shutdown terminates every backend) emits an
    // 'error' nobody would handle, which ends the process: keep it, and fail the transaction.
    let lost: Error | null = null;
    const onError = (err: Error) => (lost ??= err);
    client.on('error', onError);
    const release = (err?: Error | boolean) => {
      client.off('error', onError);
      client.release(err);
    };
    try {
      const timeoutMs = options.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS;
      // One round trip: the simple protocol runs both.
      await client.query(
        timeoutMs === STATEMENT_TIMEOUT_MS ? 'BEGIN' : `BEGIN; ${setLocalTimeout(timeoutMs)}`,
      );
      const result = await fn(new PgTransaction(client, timeoutMs));
      await client.query('COMMIT');
      release(lost ?? undefined);
      return result;
    } catch (err) {
      if (lost) {
        release(lost);
        throw err;
      }
      try {
        await client.query('ROLLBACK');
        release();
      } catch (rollbackError) {
        // A connection that cannot roll back is broken: destroy it rather than return it to the pool.
        release(rollbackError instanceof Error ? rollbackError : true);
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** host:port/database of a connection string, without user or password. */
function describeTarget(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    return `${url.host}${url.pathname}`;
  } catch {
    return 'the configured DATABASE_URL';
  }
}

function messageOf(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && err.message === '' ? code : err.message;
  }
  return String(err);
}
