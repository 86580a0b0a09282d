import { isDeepStrictEqual } from 'node:util';
import { SUBSCRIPTION_STATUSES, type Topic } from '@herald/core';
import { allowedTopicsClause } from './allowed-topics';
import type { CreateTopicInput, SubscriptionCounts, TopicPatch } from './catalog-types';
import { ConflictError } from './conflict-error';
import { pageCursor, pageLimit, toPage, type Page, type PageRequest } from './page';
import { TOPIC_COLUMNS, toTopic, type TopicRow } from './row-mappers';
import type { SqlClient } from './sql-client';
import { jsonParam, textParam } from './sql-values';

export class TopicsRepository {
  constructor(private readonly sql: SqlClient) {}

  /**
   * Creates a topic. The same name with the same attributes (omitted counts as null) returns the
   * existing topic with created=false; the same name with other attributes throws ConflictError.
   */
  async create(input: CreateTopicInput): Promise<{ topic: Topic; created: boolean }> {
    const params = [
      input.name,
      textParam(input.displayName),
      textParam(input.description),
      jsonParam(input.deliveryPolicy),
    ];
    // A concurrent delete between the insert and the read can make both miss: try again.
    for (let round = 0; round < 3; round++) {
      const inserted = await this.sql.query<TopicRow>(
        `INSERT INTO topics (name, display_name, description, delivery_policy)
         VALUES ($1, $2, $3, $4::text::jsonb)
         ON CONFLICT (name) DO NOTHING
         RETURNING ${TOPIC_COLUMNS}`,
        params,
      );
      if (inserted.rows.length > 0) return { topic: toTopic(inserted.rows[0]), created: true };
      const existing = await this.sql.query<TopicRow>(`SELECT ${TOPIC_COLUMNS} FROM topics WHERE name = $1`, [
        input.name,
      ]);
      const row = existing.rows[0];
      if (!row) continue;
      const same =
        row.display_name === (params[1] ?? null) &&
        row.description === (params[2] ?? null) &&
        isDeepStrictEqual(row.delivery_policy ?? null, input.deliveryPolicy ?? null);
      if (!same) throw new ConflictError(`A topic named ${input.name} already exists with other attributes.`);
      return { topic: toTopic(row), created: false };
    }
    throw new Error(`Topic ${input.name} is being created and deleted concurrently; try again.`);
  }

  async get(name: string): Promise<Topic | null> {
    const { rows } = await this.sql.query<TopicRow>(`SELECT ${TOPIC_COLUMNS} FROM topics WHERE name = $1`, [
      name,
    ]);
    return rows[0] ? toTopic(rows[0]) : null;
  }

  /**
   * Topics ordered by name; the cursor is the last name of the previous page. With `allowedTopics`, only
   * those (a topic-limited key's list), filtered in the query so that every page is full.
   */
  async list(page?: PageRequest, allowedTopics?: readonly string[] | null): Promise<Page<Topic>> {
    const limit = pageLimit(page);
    const params: unknown[] = [pageCursor(page), limit + 1];
    const allowed = allowedTopicsClause('name', allowedTopics, params);
    const { rows } = await this.sql.query<TopicRow>(
      `SELECT ${TOPIC_COLUMNS} FROM topics WHERE name > $1${allowed} ORDER BY name LIMIT $2`,
      params,
    );
    return toPage(rows, limit, toTopic, (t) => t.name);
  }

  /** Applies the defined fields of `patch`; null if there is no such topic. */
  async update(name: string, patch: TopicPatch): Promise<Topic | null> {
    const sets: string[] = [];
    const params: unknown[] = [name];
    const set = (column: string, value: unknown, cast = '') => {
      params.push(value);
      sets.push(`${column} = $${params.length}${cast}`);
    };
    if (patch.displayName !== undefined) set('display_name', textParam(patch.displayName));
    if (patch.description !== undefined) set('description', textParam(patch.description));
    if (patch.deliveryPolicy !== undefined)
      set('delivery_policy', jsonParam(patch.deliveryPolicy), '::text::jsonb');
    if (sets.length === 0) return this.get(name);
    const { rows } = await this.sql.query<TopicRow>(
      `UPDATE topics SET ${sets.join(', ')}, updated_at = now() WHERE name = $1 RETURNING ${TOPIC_COLUMNS}`,
      params,
    );
    return rows[0] ? toTopic(rows[0]) : null;
  }

  /** Deletes the topic and its subscriptions and cancels its unfinished deliveries; false if absent. */
  async delete(name: string): Promise<boolean> {
    return this.sql.transaction(async (tx) => {
      const deleted = await tx.query('DELETE FROM topics WHERE name = $1 RETURNING name', [name]);
      if (deleted.rows.length === 0) return false;
      await tx.query(
        `UPDATE deliveries SET status = 'cancelled', last_error = 'topic deleted', updated_at = now()
         WHERE topic = $1 AND status IN ('pending', 'retrying')`,
        [name],
      );
      return true;
    });
  }

  /** Number of the topic's subscriptions in each status (every status present, 0 when none). */
  async subscriptionCounts(name: string): Promise<SubscriptionCounts> {
    const { rows } = await this.sql.query<{ status: keyof SubscriptionCounts; n: number }>(
      'SELECT status, count(*)::int AS n FROM subscriptions WHERE topic = $1 GROUP BY status',
      [name],
    );
    const counts = Object.fromEntries(SUBSCRIPTION_STATUSES.map((s) => [s, 0])) as SubscriptionCounts;
    for (const row of rows) counts[row.status] = row.n;
    return counts;
  }
}
