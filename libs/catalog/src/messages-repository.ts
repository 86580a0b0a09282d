import { deliveryIdRange, type MessagePayload } from '@herald/core';
import type { MessageCounts, MessageRecord } from './catalog-types';
import { MESSAGE_COLUMNS, toMessagePayload, toMessageRecord, type MessageRow } from './row-mappers';
import type { SqlClient } from './sql-client';

type CountsRow = Omit<MessageCounts, 'filteredOut'> & { filtered_out: number };

/** Messages as recorded by the fan-out (see CatalogEvent 'message'). */
export class MessagesRepository {
  constructor(private readonly sql: SqlClient) {}

  /** The message with its delivery counts, computed from its deliveries (their id range: one partition). */
  async get(id: string): Promise<MessageRecord | null> {
    const { rows } = await this.sql.query<MessageRow & CountsRow>(
      `SELECT m.id, m.topic, m.subject, m.body, m.body_by_protocol, m.attributes, m.published_at, m.fanned_out_at,
              m.matched, m.filtered_out, COALESCE(c.delivered, 0)::int AS delivered,
              COALESCE(c.pending, 0)::int AS pending, COALESCE(c.failed, 0)::int AS failed,
              COALESCE(c.cancelled, 0)::int AS cancelled
       FROM messages m
       LEFT JOIN (
         SELECT message_id,
                count(*) FILTER (WHERE status = 'delivered') AS delivered,
                count(*) FILTER (WHERE status IN ('pending', 'retrying')) AS pending,
                count(*) FILTER (WHERE status = 'dead') AS failed,
                count(*) FILTER (WHERE status = 'cancelled') AS cancelled
         FROM deliveries WHERE id >= $2 AND id < $3 AND message_id = $1 GROUP BY message_id
       ) c ON c.message_id = m.id
       WHERE m.id = $1`,
      [id, deliveryIdRange(id).from, deliveryIdRange(id).to],
    );
    const row = rows[0];
    if (!row) return null;
    return toMessageRecord(row, {
      matched: row.matched,
      filteredOut: row.filtered_out,
      delivered: row.delivered,
      pending: row.pending,
      failed: row.failed,
      cancelled: row.cancelled,
    });
  }

  /** The payload as published, for inspecting and redriving after the Redis copy has expired. */
  async getPayload(id: string): Promise<MessagePayload | null> {
    const { rows } = await this.sql.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = $1`,
      [id],
    );
    return rows[0] ? toMessagePayload(rows[0]) : null;
  }
}
