import type { Protocol, SubscriptionStatus } from '@herald/core';
import type {
  CreateSubscriptionInput,
  SubscriptionFilter,
  SubscriptionPatch,
  SubscriptionRecord,
} from './catalog-types';
import { pageCursor, pageLimit, toPage, type Page, type PageRequest } from './page';
import { SUBSCRIPTION_COLUMNS, toSubscription, type SubscriptionRow } from './row-mappers';
import type { SqlClient } from './sql-client';
import { FOREIGN_KEY_VIOLATION, jsonParam, sqlState, textParam, timeParam } from './sql-values';

export class SubscriptionsRepository {
  constructor(private readonly sql: SqlClient) {}

  /**
   * Creates a subscription. The same topic + protocol + endpoint returns the existing one with
   * created=false (its settings unchanged). Null when the topic does not exist.
   */
  async create(
    input: CreateSubscriptionInput,
  ): Promise<{ subscription: SubscriptionRecord; created: boolean } | null> {
    for (let round = 0; round < 3; round++) {
      let inserted: SubscriptionRow[];
      try {
        ({ rows: inserted } = await this.sql.query<SubscriptionRow>(
          `INSERT INTO subscriptions (id, topic, protocol, endpoint, status, filter_policy, filter_policy_scope,
             raw_delivery, delivery_policy, metadata, secret, confirmation_token_hash, confirmation_expires_at,
             unsubscribe_token, confirmed_at, format)
           VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7, $8, $9::text::jsonb, $10::text::jsonb, $11, $12,
             $13::timestamptz, $14, $15::timestamptz, $16)
           ON CONFLICT (topic, protocol, endpoint) DO NOTHING
           RETURNING ${SUBSCRIPTION_COLUMNS}`,
          [
            input.id,
            input.topic,
            input.protocol,
            textParam(input.endpoint),
            input.status,
            jsonParam(input.filterPolicy),
            input.filterPolicyScope ?? 'attributes',
            input.rawDelivery ?? false,
            jsonParam(input.deliveryPolicy),
            jsonParam(input.metadata ?? {}),
            input.secret,
            input.confirmationTokenHash ?? null,
            timeParam(input.confirmationExpiresAt),
            input.unsubscribeToken,
            timeParam(input.confirmedAt),
            input.format ?? 'herald',
          ],
        ));
      } catch (err) {
        if (sqlState(err) === FOREIGN_KEY_VIOLATION) return null;
        throw err;
      }
      if (inserted.length > 0) return { subscription: toSubscription(inserted[0]), created: true };
      const { rows } = await this.sql.query<SubscriptionRow>(
        `SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE topic = $1 AND protocol = $2 AND endpoint = $3`,
        [input.topic, input.protocol, textParam(input.endpoint)],
      );
      if (rows[0]) return { subscription: toSubscription(rows[0]), created: false };
    }
    throw new Error('The subscription is being created and deleted concurrently; try again.');
  }

  async get(id: string): Promise<SubscriptionRecord | null> {
    return this.one(`SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = $1`, [id]);
  }

  /** The subscriptions among `ids` that exist (any order). */
  async getMany(ids: readonly string[]): Promise<SubscriptionRecord[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.sql.query<SubscriptionRow>(
      `SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = ANY($1::text[])`,
      [[...ids]],
    );
    return rows.map(toSubscription);
  }

  /** A topic's subscriptions ordered by id (creation), optionally by status and protocol. */
  async list(
    topic: string,
    filter: SubscriptionFilter = {},
    page?: PageRequest,
  ): Promise<Page<SubscriptionRecord>> {
    const limit = pageLimit(page);
    const { rows } = await this.sql.query<SubscriptionRow>(
      `SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions
       WHERE topic = $1 AND ($2::text IS NULL OR status = $2::text) AND ($3::text IS NULL OR protocol = $3::text)
         AND id > $4
       ORDER BY id LIMIT $5`,
      [topic, filter.status ?? null, filter.protocol ?? null, pageCursor(page), limit + 1],
    );
    return toPage(rows, limit, toSubscription, (s) => s.id);
  }

  /** Every topic's subscriptions ordered by id (the SNS API's ListSubscriptions). */
  async listAll(page?: PageRequest): Promise<Page<SubscriptionRecord>> {
    const limit = pageLimit(page);
    const { rows } = await this.sql.query<SubscriptionRow>(
      `SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id > $1 ORDER BY id LIMIT $2`,
      [pageCursor(page), limit + 1],
    );
    return toPage(rows, limit, toSubscription, (s) => s.id);
  }

  /** The fan-out's page: active subscriptions of a topic after `afterId`, ordered by id. */
  async listActivePage(topic: string, afterId: string | null, limit: number): Promise<SubscriptionRecord[]> {
    const { rows } = await this.sql.query<SubscriptionRow>(
      `SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions
       WHERE topic = $1 AND status = 'active' AND id > $2
       ORDER BY id LIMIT $3`,
      [topic, afterId ?? '', Math.max(1, Math.floor(limit))],
    );
    return rows.map(toSubscription);
  }

  /** Applies the defined fields of `patch`; null if there is no such subscription. */
  async update(id: string, patch: SubscriptionPatch): Promise<SubscriptionRecord | null> {
    const sets: string[] = [];
    const params: unknown[] = [id];
    const set = (column: string, value: unknown, cast = '') => {
      params.push(value);
      sets.push(`${column} = $${params.length}${cast}`);
    };
    if (patch.endpoint !== undefined) set('endpoint', textParam(patch.endpoint));
    if (patch.filterPolicy !== undefined)
      set('filter_policy', jsonParam(patch.filterPolicy), '::text::jsonb');
    if (patch.filterPolicyScope !== undefined) set('filter_policy_scope', patch.filterPolicyScope);
    if (patch.rawDelivery !== undefined) set('raw_delivery', patch.rawDelivery);
    if (patch.deliveryPolicy !== undefined)
      set('delivery_policy', jsonParam(patch.deliveryPolicy), '::text::jsonb');
    if (patch.metadata !== undefined) set('metadata', jsonParam(patch.metadata), '::text::jsonb');
    if (patch.format !== undefined) set('format', patch.format);
    if (patch.status !== undefined) set('status', patch.status);
    if (sets.length === 0) return this.get(id);
    return this.one(
      `UPDATE subscriptions SET ${sets.join(', ')}, updated_at = now() WHERE id = $1 RETURNING ${SUBSCRIPTION_COLUMNS}`,
      params,
    );
  }

  /** Deletes the subscription and cancels its unfinished deliveries; false if absent. */
  async delete(id: string): Promise<boolean> {
    return this.sql.transaction(async (tx) => {
      const deleted = await tx.query('DELETE FROM subscriptions WHERE id = $1 RETURNING id', [id]);
      if (deleted.rows.length === 0) return false;
      await tx.query(
        `UPDATE deliveries SET status = 'cancelled', last_error = 'subscription deleted', updated_at = now()
         WHERE subscription_id = $1 AND status IN ('pending', 'retrying')`,
        [id],
      );
      return true;
    });
  }

  /**
   * Sets the status. With `confirmedAt` (a confirmation) it also records the time and retires the
   * confirmation token so the link cannot change anything again (its hash is kept as the token that
   * confirmed it: see findByConfirmedTokenHash).
   */
  async setStatus(
    id: string,
    status: SubscriptionStatus,
    confirmedAt?: Date,
  ): Promise<SubscriptionRecord | null> {
    if (confirmedAt === undefined) {
      return this.one(
        `UPDATE subscriptions SET status = $2, updated_at = now() WHERE id = $1 RETURNING ${SUBSCRIPTION_COLUMNS}`,
        [id, status],
      );
    }
    return this.one(
      `UPDATE subscriptions
       SET status = $2, confirmed_at = $3::timestamptz,
           confirmed_token_hash = COALESCE(confirmation_token_hash, confirmed_token_hash),
           confirmation_token_hash = NULL, confirmation_expires_at = NULL, confirmation_error = NULL,
           confirmation_error_at = NULL, updated_at = now()
       WHERE id = $1 RETURNING ${SUBSCRIPTION_COLUMNS}`,
      [id, status, timeParam(confirmedAt)],
    );
  }

  /** The subscription a confirmation token (by its hash) belongs to, unless the token has expired. */
  async findByConfirmationTokenHash(hash: string): Promise<SubscriptionRecord | null> {
    return this.one(
      `SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions
       WHERE confirmation_token_hash = $1 AND confirmation_expires_at > now()`,
      [hash],
    );
  }

  /** The subscription the token (by its hash) confirmed already: a second confirmation changes nothing. */
  async findByConfirmedTokenHash(hash: string): Promise<SubscriptionRecord | null> {
    return this.one(`SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE confirmed_token_hash = $1`, [
      hash,
    ]);
  }

  /** Records why a confirmation send failed (null: it reached the receiver). */
  async setConfirmationError(id: string, error: string | null): Promise<void> {
    await this.sql.query(
      `UPDATE subscriptions SET confirmation_error = $2::text,
         confirmation_error_at = CASE WHEN $2::text IS NULL THEN NULL ELSE now() END
       WHERE id = $1`,
      [id, textParam(error)],
    );
  }

  async findByUnsubscribeToken(token: string): Promise<SubscriptionRecord | null> {
    return this.one(`SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE unsubscribe_token = $1`, [
      token,
    ]);
  }

  /** Replaces the confirmation token (a resend); false if there is no such subscription. */
  async setConfirmationToken(id: string, hash: string, expiresAt: Date): Promise<boolean> {
    const { rowCount } = await this.sql.query(
      `UPDATE subscriptions SET confirmation_token_hash = $2, confirmation_expires_at = $3::timestamptz,
         updated_at = now()
       WHERE id = $1`,
      [id, hash, timeParam(expiresAt)],
    );
    return rowCount > 0;
  }

  /** Makes `newSecret` current; the old one keeps signing beside it until `previousExpiresAt`. */
  async rotateSecret(
    id: string,
    newSecret: string,
    previousExpiresAt: Date,
  ): Promise<SubscriptionRecord | null> {
    return this.one(
      `UPDATE subscriptions
       SET previous_secret = secret, previous_secret_expires_at = $3::timestamptz, secret = $2, updated_at = now()
       WHERE id = $1 RETURNING ${SUBSCRIPTION_COLUMNS}`,
      [id, newSecret, timeParam(previousExpiresAt)],
    );
  }

  /** Moves every subscription of an endpoint in one of `fromStatuses` to `toStatus` (SMS STOP/START). */
  async setStatusByEndpoint(
    protocol: Protocol,
    endpoint: string,
    fromStatuses: readonly SubscriptionStatus[],
    toStatus: SubscriptionStatus,
  ): Promise<number> {
    const { rowCount } = await this.sql.query(
      `UPDATE subscriptions SET status = $4, updated_at = now()
       WHERE protocol = $1 AND endpoint = $2 AND status = ANY($3::text[]) AND status <> $4`,
      [protocol, textParam(endpoint), [...fromStatuses], toStatus],
    );
    return rowCount;
  }

  private async one(text: string, params: readonly unknown[]): Promise<SubscriptionRecord | null> {
    const { rows } = await this.sql.query<SubscriptionRow>(text, params);
    return rows[0] ? toSubscription(rows[0]) : null;
  }
}
