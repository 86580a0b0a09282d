import { deliveryIdRange, type MessagePayload } from '@herald/core';
import { allowedTopicsClause } from './allowed-topics';
import type { MessageCounts, MessageRecord } from './catalog-types';
import { messageStatus } from './message-status';
import { pageLimit, type Page, type PageRequest } from './page';
import { MESSAGE_COLUMNS, toMessagePayload, toMessageRecord, type MessageRow } from './row-mappers';
import type { SqlClient } from './sql-client';

type FanoutRow = MessageRow & { matched: number; filtered_out: number };
type CountsRow = { delivered: number; pending: number; failed: number; cancelled: number };

/** Counts of a message's deliveries by status, as the columns of one row. */
const COUNT_COLUMNS = `count(*) FILTER (WHERE status = 'delivered') AS delivered,
  count(*) FILTER (WHERE status IN ('pending', 'retrying')) AS pending,
  count(*) FILTER (WHERE status = 'dead') AS failed,
  count(*) FILTER (WHERE status = 'cancelled') AS cancelled`;

function recordOf(row: FanoutRow, counts: CountsRow | undefined): MessageRecord {
  const c: MessageCounts = {
    matched: row.matched,
    filteredOut: row.filtered_out,
    delivered: Number(counts?.delivered ?? 0),
    pending: Number(counts?.pending ?? 0),
    failed: Number(counts?.failed ?? 0),
    cancelled: Number(counts?.cancelled ?? 0),
  };
  return toMessageRecord(row, c, messageStatus(c));
}

/** Messages as recorded by the fan-out (see CatalogEvent 'message'). */
export class MessagesRepository {
  constructor(private readonly sql: SqlClient) {}

  /** The message with its delivery counts and status, computed from its deliveries (their id range: one partition). */
  async get(id: string): Promise<MessageRecord | null> {
    const { rows } = await this.sql.query<FanoutRow>(
      `SELECT ${MESSAGE_COLUMNS}, matched, filtered_out FROM messages WHERE id = $1`,
      [id],
    );
    const row = rows[0];
    if (!row) return null;
    return recordOf(row, (await this.counts([id])).get(id));
  }

  /**
   * A topic's messages newest first (ids are ULIDs: they sort by time), with their counts and status;
   * `allowedTopics` (a topic-limited key's) leaves out what the key may not see in the query itself.
   * The cursor is the id of the previous page's last (oldest) message.
   */
  async listByTopic(
    topic: string,
    page?: PageRequest,
    allowedTopics?: readonly string[] | null,
  ): Promise<Page<MessageRecord>> {
    const limit = pageLimit(page);
    const params: unknown[] = [topic, page?.cursor ?? null, limit + 1];
    const allowed = allowedTopicsClause('topic', allowedTopics, params);
    const { rows } = await this.sql.query<FanoutRow>(
      `SELECT ${MESSAGE_COLUMNS}, matched, filtered_out FROM messages
       WHERE topic = $1 AND ($2::text IS NULL OR id < $2::text)${allowed}
       ORDER BY id DESC LIMIT $3`,
      params,
    );
    const pageRows = rows.slice(0, limit);
    const counts = await this.counts(pageRows.map((r) => r.id));
    const items = pageRows.map((r) => recordOf(r, counts.get(r.id)));
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? last.id : null };
  }

  /** The payload as published, for inspecting and redriving after the Redis copy has expired. */
  async getPayload(id: string): Promise<MessagePayload | null> {
    const { rows } = await this.sql.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = $1`,
      [id],
    );
    return rows[0] ? toMessagePayload(rows[0]) : null;
  }

  /** Delivery counts of each message, read as one id range per message (deliveries sit in id order). */
  private async counts(messageIds: readonly string[]): Promise<Map<string, CountsRow>> {
    const result = new Map<string, CountsRow>();
    if (messageIds.length === 0) return result;
    const params: string[] = [];
    const ranges = messageIds.map((id) => {
      const { from, to } = deliveryIdRange(id);
      params.push(id, from, to);
      const n = params.length;
      return `SELECT $${n - 2}::text AS message_id, ${COUNT_COLUMNS} FROM deliveries WHERE id >= $${n - 1} AND id < $${n}`;
    });
    const { rows } = await this.sql.query<CountsRow & { message_id: string }>(
      ranges.join(' UNION ALL '),
      params,
    );
    for (const row of rows) result.set(row.message_id, row);
    return result;
  }
}
