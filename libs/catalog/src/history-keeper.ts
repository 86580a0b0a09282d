import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { idAt } from '@herald/core';
import { BACKGROUND_STATEMENT_TIMEOUT_MS, type SqlClient } from './sql-client';

export const DAY_MS = 86_400_000;
/** Arbitrary but fixed, and not the migration lock: Herald processes take turns at the history's DDL. */
const HISTORY_LOCK_KEY = 4_812_302_118;
/** Rows per deleting statement: short transactions, so the hot path never waits long for them. */
const DELETE_BATCH = 1000;
/**
 * How long a partition change waits for its table lock: while it waits, every writer queues behind
 * it. Giving up is harmless (days are partitioned a week ahead): it tries again on the next run.
 */
const LOCK_TIMEOUT = '2s';

/** The two partitioned tables, and the column of dead_letters that keeps one of their rows. */
const TABLES = [
  { table: 'deliveries', prefix: 'dlv', keptBy: 'delivery_id' },
  { table: 'messages', prefix: 'msg', keptBy: 'message_id' },
] as const;
type Table = (typeof TABLES)[number];

export interface HistoryOptions {
  /** Messages and their delivery records older than this many days go (RETENTION_DAYS). */
  retentionDays: number;
  /** Dead letters older than this many days go, handled or not (DEAD_LETTER_RETENTION_DAYS). */
  deadLetterRetentionDays: number;
  /** Day partitions made ahead of today (PostgreSQL). */
  daysAhead?: number;
  /** The clock, in ms; tests and benchmarks move it. */
  now?: () => number;
}

/** What one run of the keeper did. */
export interface HistoryReport {
  /** False when another process held the history lock: that process is doing the work. */
  ran: boolean;
  created: string[];
  dropped: string[];
  deleted: { messages: number; deliveries: number; deadLetters: number };
}

/** The UTC midnight at or before `ms`. */
export function dayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** `deliveries_p20250130`: the partition of the UTC day starting at `day` (the names migration 3 gives). */
export function partitionName(table: string, day: number): string {
  return `${table}_p${new Date(day).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/** The day a partition name stands for, or null for another one (`…_before`, `…_after`). */
export function partitionDay(table: string, name: string): number | null {
  const m = new RegExp(`^${table}_p(\\d{4})(\\d{2})(\\d{2})$`).exec(name);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : null;
}

/**
 * Keeps the catalog's history within its retention, run periodically by whichever Herald process runs
 * the workers; safe when several do it at once. On PostgreSQL, messages and deliveries are partitioned
 * by day of the message's time (migration 3): day partitions without gaps, with a `…_before` and an
 * `…_after` partition covering the ids outside them. The keeper makes the coming days' partitions
 * (taking them out of `…_after`), folds whole days into `…_before` once all their rows are older than
 * RETENTION_DAYS (dropping them), and deletes old rows left in `…_before`. The embedded catalog
 * (SQLite) has no partitions, so there it deletes old rows in small batches. Either way a message or
 * delivery with a dead letter stays as long as the dead letter (until it is redriven or deleted, or
 * DEAD_LETTER_RETENTION_DAYS pass), so the entry can still be read in full and redriven.
 */
export class HistoryKeeper {
  private readonly now: () => number;
  private readonly daysAhead: number;

  constructor(
    private readonly sql: SqlClient,
    private readonly options: HistoryOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.daysAhead = options.daysAhead ?? 7;
  }

  async run(): Promise<HistoryReport> {
    const report: HistoryReport = {
      ran: true,
      created: [],
      dropped: [],
      deleted: { messages: 0, deliveries: 0, deadLetters: 0 },
    };
    const busy = { ...report, ran: false };
    const now = this.now();
    const cutoff = now - this.options.retentionDays * DAY_MS;
    if (this.sql.dialect === 'postgres') {
      const today = dayStart(now);
      const created = await this.ensurePartitions(today, today + this.daysAhead * DAY_MS);
      if (created === null) return busy;
      report.created = created;
      const dropped = await this.dropDaysBefore(cutoff);
      if (dropped === null) return busy;
      report.dropped = dropped;
    }
    // Dead letters first: what the expired ones kept goes in the same run.
    const deadLetters = await this.deleteBatches((tx, after) =>
      tx.query<{ id: string }>(
        `DELETE FROM dead_letters WHERE id IN (
           SELECT id FROM dead_letters WHERE id > $1 AND id < $2 ORDER BY id LIMIT ${DELETE_BATCH})
         RETURNING id`,
        [after, idAt('dlq', now - this.options.deadLetterRetentionDays * DAY_MS)],
      ),
    );
    if (deadLetters === null) return busy;
    report.deleted.deadLetters = deadLetters;
    for (const t of TABLES) {
      const deleted = await this.deleteOldRows(t, cutoff);
      if (deleted === null) return busy;
      report.deleted[t.table] = deleted;
    }
    return report;
  }

  /**
   * Partitions both tables by day from `firstDay` to `lastDay` (inclusive): each missing day is split
   * off `…_after` (or, for days before the first, `…_before`), one day per transaction. Returns the
   * partitions made, or null when another process holds the lock. No-op on SQLite.
   */
  async ensurePartitions(firstDay: number, lastDay: number): Promise<string[] | null> {
    if (this.sql.dialect !== 'postgres') return [];
    const created: string[] = [];
    for (const t of TABLES) {
      for (;;) {
        const made = await this.locked(async (tx) => {
          const days = await dayPartitions(tx, t);
          const next = nextDay(days, dayStart(firstDay), dayStart(lastDay));
          if (next === null) return '';
          await splitDay(tx, t, next.day, next.edge);
          return partitionName(t.table, next.day);
        });
        if (made === null) return null;
        if (made === '') break;
        created.push(made);
      }
    }
    return created;
  }

  /** Folds the days whose rows are all older than `cutoff` into `…_before`, oldest first. */
  private async dropDaysBefore(cutoff: number): Promise<string[] | null> {
    const dropped: string[] = [];
    for (const t of TABLES) {
      for (;;) {
        const done = await this.locked(async (tx) => {
          const [oldest, second] = await dayPartitions(tx, t);
          // The newest day always stays: it bounds `…_after`.
          if (oldest === undefined || second === undefined || oldest + DAY_MS > cutoff) return '';
          await dropDay(tx, t, oldest);
          return partitionName(t.table, oldest);
        });
        if (done === null) return null;
        if (done === '') break;
        dropped.push(done);
      }
    }
    return dropped;
  }

  /**
   * Deletes rows of `t` made before `cutoff` that no dead letter keeps, a batch at a time: on SQLite
   * the table itself, on PostgreSQL its `…_before` partition (the days go whole).
   */
  private async deleteOldRows(t: Table, cutoff: number): Promise<number | null> {
    const table = this.sql.dialect === 'postgres' ? `${t.table}_before` : t.table;
    return this.deleteBatches((tx, after) =>
      tx.query<{ id: string }>(
        `DELETE FROM ${table} WHERE id IN (
           SELECT id FROM ${table} r WHERE id > $1 AND id < $2
             AND NOT EXISTS (SELECT 1 FROM dead_letters k WHERE k.${t.keptBy} = r.id)
           ORDER BY id LIMIT ${DELETE_BATCH})
         RETURNING id`,
        [after, idAt(t.prefix, cutoff)],
      ),
    );
  }

  /**
   * Runs a deleting statement (ids above `after`, which starts empty) until a batch comes back short,
   * yielding to the event loop between batches; the count deleted, or null when another process
   * holds the lock.
   */
  private async deleteBatches(
    batch: (tx: SqlClient, after: string) => Promise<{ rows: Array<{ id: string }> }>,
  ): Promise<number | null> {
    let deleted = 0;
    let after = '';
    for (;;) {
      const rows = await this.locked(async (tx) => (await batch(tx, after)).rows);
      if (rows === null) return null;
      deleted += rows.length;
      if (rows.length < DELETE_BATCH) return deleted;
      after = rows.reduce((max, r) => (r.id > max ? r.id : max), after);
      await yieldToEventLoop();
    }
  }

  /**
   * Runs `fn` in a transaction holding the history lock (PostgreSQL), or returns null at once when
   * another process holds it. SQLite has one process, so there it simply runs `fn` in a transaction.
   */
  private async locked<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T | null> {
    return this.sql.transaction(
      async (tx) => {
        if (tx.dialect === 'postgres') {
          const { rows } = await tx.query<{ locked: boolean }>(
            `SELECT pg_try_advisory_xact_lock(${HISTORY_LOCK_KEY}) AS locked`,
          );
          if (!rows[0]?.locked) return null;
          await tx.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
        }
        return fn(tx);
      },
      { statementTimeoutMs: BACKGROUND_STATEMENT_TIMEOUT_MS },
    );
  }
}

/**
 * The next day to partition so that the days cover `[first, last]` without a gap, and the partition
 * it comes out of; null when they do. `days` are the partitioned days, ascending.
 */
export function nextDay(
  days: readonly number[],
  first: number,
  last: number,
): { day: number; edge: 'before' | 'after' } | null {
  if (days.length === 0) throw new Error('the catalog has no day partitions (migration 3 makes them)');
  const oldest = days[0];
  const newest = days[days.length - 1];
  if (newest < last) return { day: newest + DAY_MS, edge: 'after' };
  if (oldest > first) return { day: oldest - DAY_MS, edge: 'before' };
  return null;
}

/** The days table `t` is partitioned by, ascending. */
async function dayPartitions(tx: SqlClient, t: Table): Promise<number[]> {
  const { rows } = await tx.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = $1::regclass`,
    [t.table],
  );
  return rows
    .map((r) => partitionDay(t.table, r.name))
    .filter((d): d is number => d !== null)
    .sort((a, b) => a - b);
}

/** `[from, to)` of the ids of table `t` made on the day starting at `day`. */
function dayBounds(t: Table, day: number): { from: string; to: string } {
  return { from: idAt(t.prefix, day), to: idAt(t.prefix, day + DAY_MS) };
}

/** An edge partition's bounds when its inner end is `bound` (a literal: `prefix_` and ten ULID characters). */
function edgeBounds(edge: 'before' | 'after', bound: string): string {
  return edge === 'before' ? `FROM (MINVALUE) TO ('${bound}')` : `FROM ('${bound}') TO (MAXVALUE)`;
}

/**
 * Partitions one more day, next to `…_after` (or `…_before`): the edge is detached, the day's rows in
 * it (made while no day partition covered them) move into the new partition, and both are attached.
 * Detaching locks the table for the transaction, which takes milliseconds: the edge holds few rows.
 */
async function splitDay(tx: SqlClient, t: Table, day: number, edge: 'before' | 'after'): Promise<void> {
  const name = partitionName(t.table, day);
  const edgeName = `${t.table}_${edge}`;
  const { from, to } = dayBounds(t, day);
  await tx.query(`ALTER TABLE ${t.table} DETACH PARTITION ${edgeName}`);
  await tx.query(`CREATE TABLE ${name} (LIKE ${t.table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
  await tx.query(
    `WITH moved AS (DELETE FROM ${edgeName} WHERE id >= $1 AND id < $2 RETURNING *)
     INSERT INTO ${name} SELECT * FROM moved`,
    [from, to],
  );
  await tx.query(`ALTER TABLE ${t.table} ATTACH PARTITION ${name} FOR VALUES FROM ('${from}') TO ('${to}')`);
  await tx.query(
    `ALTER TABLE ${t.table} ATTACH PARTITION ${edgeName} FOR VALUES ${edgeBounds(edge, edge === 'after' ? to : from)}`,
  );
}

/**
 * Drops the oldest day partition into `…_before`: the rows a dead letter still refers to move there
 * (where they stay as long as their dead letter does), the rest go with the partition.
 */
async function dropDay(tx: SqlClient, t: Table, day: number): Promise<void> {
  const name = partitionName(t.table, day);
  const before = `${t.table}_before`;
  const { from, to } = dayBounds(t, day);
  await tx.query(`ALTER TABLE ${t.table} DETACH PARTITION ${before}`);
  await tx.query(`ALTER TABLE ${t.table} DETACH PARTITION ${name}`);
  await tx.query(
    `INSERT INTO ${before} SELECT * FROM ${name}
     WHERE id IN (SELECT ${t.keptBy} FROM dead_letters WHERE ${t.keptBy} >= $1 AND ${t.keptBy} < $2)`,
    [from, to],
  );
  await tx.query(`DROP TABLE ${name}`);
  await tx.query(`ALTER TABLE ${t.table} ATTACH PARTITION ${before} FOR VALUES ${edgeBounds('before', to)}`);
}
