import { allowedTopicsClause } from './allowed-topics';
import type {
  DeadLetter,
  DeadLetterDetail,
  DeadLetterFilter,
  DeadLetterSelection,
  RedrivenDeadLetter,
} from './catalog-types';
import { pageCursor, pageLimit, toPage, type Page, type PageRequest } from './page';
import {
  ATTEMPTS_OF_DELIVERY,
  DEAD_LETTER_COLUMNS,
  MESSAGE_COLUMNS,
  toAttempts,
  toDeadLetter,
  toMessagePayload,
  type AttemptRow,
  type DeadLetterRow,
  type MessageRow,
} from './row-mappers';
import type { SqlClient } from './sql-client';

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
      this.sql.query<AttemptRow>(ATTEMPTS_OF_DELIVERY, [entry.deliveryId]),
    ]);
    return {
      entry,
      message: message.rows[0] ? toMessagePayload(message.rows[0]) : null,
      attempts: toAttempts(history.rows),
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
    let chosen: string;
    let params: unknown[];
    if ('ids' in selection) {
      if (selection.ids.length === 0) return [];
      chosen = 'SELECT id FROM dead_letters WHERE id = ANY($1::text[])';
      params = [[...selection.ids]];
    } else {
      chosen = `SELECT id FROM dead_letters
                WHERE ($1::text IS NULL OR topic = $1::text) AND ($2::text IS NULL OR subscription_id = $2::text)
                ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED`;
      params = [
        selection.topic ?? null,
        selection.subscriptionId ?? null,
        Math.max(1, Math.floor(selection.limit ?? DEFAULT_TAKE_LIMIT)),
      ];
    }
    const { rows } = await this.sql.query<DeadLetterRow & { new_run: number | null }>(
      `WITH taken AS (
         DELETE FROM dead_letters WHERE id IN (${chosen}) RETURNING ${DEAD_LETTER_COLUMNS}
       ), restarted AS (
         INSERT INTO deliveries (id, message_id, subscription_id, topic, protocol, status, attempt_count, run,
           last_attempt, last_error, last_status_code)
         SELECT DISTINCT ON (delivery_id) delivery_id, message_id, subscription_id, topic, protocol, 'pending',
                attempts, run + 1, 0, last_error, last_status_code
         FROM taken ORDER BY delivery_id, run DESC
         ON CONFLICT (id) DO UPDATE
           -- The redriven job (run + 1) may already have run and been recorded: never move it back.
           SET run = GREATEST(deliveries.run, excluded.run),
               last_attempt = CASE WHEN deliveries.run >= excluded.run THEN deliveries.last_attempt ELSE 0 END,
               status = CASE WHEN deliveries.run >= excluded.run THEN deliveries.status ELSE 'pending' END,
               updated_at = now()
         RETURNING id, run
       )
       SELECT t.*, r.run AS new_run FROM taken t LEFT JOIN restarted r ON r.id = t.delivery_id ORDER BY t.id`,
      params,
    );
    return rows.map((row) => ({ ...toDeadLetter(row), newRun: row.run + 1 }));
  }
}
