import { allowedTopicsClause } from './allowed-topics';
import type {
  DeadLetter,
  DeadLetterDetail,
  DeadLetterFilter,
  DeadLetterSelection,
  RedrivenDeadLetter,
} from './catalog-types';
import { pageCursor, pageLimit, toPage, type Page, type PageRequest } from './page';
import type { StoredAttempt } from './delivery-state';
import {
  DEAD_LETTER_COLUMNS,
  MESSAGE_COLUMNS,
  toAttempts,
  toDeadLetter,
  toMessagePayload,
  type DeadLetterRow,
  type MessageRow,
} from './row-mappers';
import type { SqlClient } from './sql-client';
import { jsonParam, recordset } from './sql-values';

const DEFAULT_TAKE_LIMIT = 1000;

export class DeadLettersRepository {
  constructor(private readonly sql: SqlClient) {}

  /**
   * Dead letters ordered by id (oldest first), optionally of one topic and/or subscription, and with
   * `allowedTopics` only of those (a topic-limited key's list), filtered in the query.
   */
  async list(
    filter: DeadLetterFilter = {},
    page?: PageRequest,
    allowedTopics?: readonly string[] | null,
  ): Promise<Page<DeadLetter>> {
    const limit = pageLimit(page);
    const params: unknown[] = [
      filter.topic ?? null,
      filter.subscriptionId ?? null,
      pageCursor(page),
      limit + 1,
    ];
    const allowed = allowedTopicsClause('topic', allowedTopics, params);
    const { rows } = await this.sql.query<DeadLetterRow>(
      `SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters
       WHERE ($1::text IS NULL OR topic = $1::text) AND ($2::text IS NULL OR subscription_id = $2::text) AND id > $3${allowed}
       ORDER BY id LIMIT $4`,
      params,
    );
    return toPage(rows, limit, toDeadLetter, (d) => d.id);
  }

  /** Dead letters waiting, all topics together (the herald_dead_letters gauge). */
  async count(): Promise<number> {
    const { rows } = await this.sql.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM dead_letters');
    return Number(rows[0]?.n ?? 0);
  }

  /** The entry with the message payload and every attempt of its delivery. */
  async get(id: string): Promise<DeadLetterDetail | null> {
    const { rows } = await this.sql.query<DeadLetterRow>(
      `SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE id = $1`,
      [id],
    );
    if (!rows[0]) return null;
    const entry = toDeadLetter(rows[0]);
    const [message, history] = await Promise.all([
      this.sql.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = $1`, [entry.messageId]),
      this.sql.query<{ attempts: StoredAttempt[] }>('SELECT attempts FROM deliveries WHERE id = $1', [
        entry.deliveryId,
      ]),
    ]);
    return {
      entry,
      message: message.rows[0] ? toMessagePayload(message.rows[0]) : null,
      attempts: toAttempts(history.rows[0]?.attempts),
    };
  }

  async delete(id: string): Promise<boolean> {
    const { rows } = await this.sql.query('DELETE FROM dead_letters WHERE id = $1 RETURNING id', [id]);
    return rows.length > 0;
  }

  /**
   * Takes entries for redrive in one statement: deletes them, and starts run `run + 1` of each delivery
   * (status pending, a fresh attempt budget) unless that run was recorded already: the caller enqueues
   * the redriven job first, so a crash never leaves a taken entry without a job. Each returned entry's
   * `newRun` is `run + 1`. Concurrent takes never return the same entry twice: a
   * row deleted by one is gone for the other, and a filter take skips rows another take holds. A
   * filter take returns at most `limit` (default 1000) entries; call again until it returns fewer.
   */
  async take(selection: DeadLetterSelection): Promise<RedrivenDeadLetter[]> {
    return this.sql.transaction(async (tx) => {
      let ids: string[];
      if ('ids' in selection) {
        ids = [...selection.ids];
      } else {
        const chosen = await tx.query<{ id: string }>(
          `SELECT id FROM dead_letters
           WHERE ($1::text IS NULL OR topic = $1::text) AND ($2::text IS NULL OR subscription_id = $2::text)
           ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED`,
          [
            selection.topic ?? null,
            selection.subscriptionId ?? null,
            Math.max(1, Math.floor(selection.limit ?? DEFAULT_TAKE_LIMIT)),
          ],
        );
        ids = chosen.rows.map((r) => r.id);
      }
      if (ids.length === 0) return [];
      const { rows } = await tx.query<DeadLetterRow>(
        `DELETE FROM dead_letters WHERE id = ANY($1::text[]) RETURNING ${DEAD_LETTER_COLUMNS}`,
        [ids],
      );
      const taken = rows.map(toDeadLetter).sort((a, b) => (a.id < b.id ? -1 : 1));
      // Each delivery restarts at the run after its newest taken entry.
      const restart = new Map<string, (typeof taken)[number]>();
      for (const e of taken) if ((restart.get(e.deliveryId)?.run ?? 0) < e.run) restart.set(e.deliveryId, e);
      if (restart.size > 0) await restartDeliveries(tx, [...restart.values()]);
      return taken.map((e) => ({ ...e, newRun: e.run + 1 }));
    });
  }
}

/** What starting a delivery's next run needs: its identity, the run that ended and its attempts then. */
export type DeliveryRestart = Pick<
  DeadLetter,
  | 'deliveryId'
  | 'messageId'
  | 'subscriptionId'
  | 'topic'
  | 'protocol'
  | 'attempts'
  | 'run'
  | 'lastError'
  | 'lastStatusCode'
>;

/**
 * Starts run `run + 1` of each delivery (status pending, a fresh attempt budget; its attempts so far
 * stay), unless that run was recorded already: the redriven job is enqueued before the take and may
 * have run and been recorded since, and it must never be moved back.
 */
export async function restartDeliveries(sql: SqlClient, entries: DeliveryRestart[]): Promise<void> {
  const rows = entries.map((e) => ({
    id: e.deliveryId,
    message_id: e.messageId,
    subscription_id: e.subscriptionId,
    topic: e.topic,
    protocol: e.protocol,
    attempts: e.attempts,
    run: e.run + 1,
    last_error: e.lastError,
    last_status_code: e.lastStatusCode,
  }));
  await sql.query(
    `INSERT INTO deliveries (id, message_id, subscription_id, topic, protocol, status, attempt_count, run,
       last_attempt, last_error, last_status_code)
     SELECT id, message_id, subscription_id, topic, protocol, 'pending', attempts, run, 0, last_error,
            last_status_code
     FROM ${recordset(sql.dialect, '$1', [
       ['id', 'text'],
       ['message_id', 'text'],
       ['subscription_id', 'text'],
       ['topic', 'text'],
       ['protocol', 'text'],
       ['attempts', 'int'],
       ['run', 'int'],
       ['last_error', 'text'],
       ['last_status_code', 'int'],
     ])} WHERE true
     ON CONFLICT (id) DO UPDATE
       SET run = GREATEST(deliveries.run, excluded.run),
           last_attempt = CASE WHEN deliveries.run >= excluded.run THEN deliveries.last_attempt ELSE 0 END,
           status = CASE WHEN deliveries.run >= excluded.run THEN deliveries.status ELSE 'pending' END,
           updated_at = now()`,
    [jsonParam(rows)],
  );
}
