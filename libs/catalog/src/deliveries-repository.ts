import { deliveryIdRange, newId } from '@herald/core';
import type { DeliveryDetail, DeliveryFilter, DeliveryRecord, ProviderStatusUpdate } from './catalog-types';
import { pageCursor, pageLimit, toPage, type Page, type PageRequest } from './page';
import { DELIVERY_COLUMNS, toAttempts, toDelivery, type DeliveryRow } from './row-mappers';
import { restartDeliveries } from './dead-letters-repository';
import type { StoredAttempt } from './delivery-state';
import type { SqlClient } from './sql-client';
import { textParam } from './sql-values';

/** Delivery records; the workers write them through CatalogEventWriter, not here. */
export class DeliveriesRepository {
  constructor(private readonly sql: SqlClient) {}

  /** The delivery with every attempt, numbered 1..n in (run, attempt) order. */
  async get(id: string): Promise<DeliveryDetail | null> {
    const { rows } = await this.sql.query<DeliveryRow & { attempts: StoredAttempt[] }>(
      `SELECT ${DELIVERY_COLUMNS}, attempts FROM deliveries WHERE id = $1`,
      [id],
    );
    if (!rows[0]) return null;
    return { ...toDelivery(rows[0]), attempts: toAttempts(rows[0].attempts) };
  }

  /** A message's deliveries sit together in id order (and in one partition): read as an id range. */
  async listByMessage(
    messageId: string,
    filter: DeliveryFilter = {},
    page?: PageRequest,
  ): Promise<Page<DeliveryRecord>> {
    const { from, to } = deliveryIdRange(messageId);
    return this.listBy('id >= $1 AND id < $2 AND message_id = $3', [from, to, messageId], filter, page);
  }

  async listBySubscription(
    subscriptionId: string,
    filter: DeliveryFilter = {},
    page?: PageRequest,
  ): Promise<Page<DeliveryRecord>> {
    return this.listBy('subscription_id = $1', [subscriptionId], filter, page);
  }

  /** How many attempts each delivery has made over all its runs (absent ids: none recorded). */
  async attemptCounts(ids: readonly string[]): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const { rows } = await this.sql.query<{ id: string; attempt_count: number }>(
      `SELECT id, attempt_count FROM deliveries WHERE id = ANY($1::text[])`,
      [[...ids]],
    );
    return new Map(rows.map((r) => [r.id, Number(r.attempt_count)]));
  }

  /**
   * Starts the next run of finished deliveries (a resend), their attempts kept; a dead one's dead letter
   * leaves the list, as on a redrive. Returns nothing: the jobs were enqueued before (see restartDeliveries).
   */
  async restart(deliveries: readonly DeliveryRecord[]): Promise<void> {
    if (deliveries.length === 0) return;
    await this.sql.transaction(async (tx) => {
      await tx.query(`DELETE FROM dead_letters WHERE delivery_id = ANY($1::text[])`, [
        deliveries.map((d) => d.id),
      ]);
      await restartDeliveries(
        tx,
        deliveries.map((d) => ({
          deliveryId: d.id,
          messageId: d.messageId,
          subscriptionId: d.subscriptionId,
          topic: d.topic,
          protocol: d.protocol,
          attempts: d.attemptCount,
          run: d.run,
          lastError: d.lastError,
          lastStatusCode: d.lastStatusCode,
        })),
      );
    });
  }

  /** The delivery a provider (Twilio) knows by its own message id. */
  async findByProviderMessageId(providerMessageId: string): Promise<DeliveryRecord | null> {
    const { rows } = await this.sql.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE provider_message_id = $1 ORDER BY id LIMIT 1`,
      [providerMessageId],
    );
    return rows[0] ? toDelivery(rows[0]) : null;
  }

  /** A page of the deliveries `match` selects (with `params` as its $1…$n), in id order. */
  private async listBy(
    match: string,
    params: readonly unknown[],
    filter: DeliveryFilter,
    page: PageRequest | undefined,
  ): Promise<Page<DeliveryRecord>> {
    const limit = pageLimit(page);
    const n = params.length;
    const { rows } = await this.sql.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM deliveries
       WHERE ${match} AND ($${n + 1}::text IS NULL OR status = $${n + 1}::text) AND id > $${n + 2}
       ORDER BY id LIMIT $${n + 3}`,
      [...params, filter.status ?? null, pageCursor(page), limit + 1],
    );
    return toPage(rows, limit, toDelivery, (d) => d.id);
  }
}

/**
 * Records a provider's final status for a message it had accepted, inside the caller's transaction.
 * 'dead' also files a dead letter (when the subscription still exists). A dead delivery is not brought
 * back by a late 'delivered', nor a cancelled one changed. Null if no delivery has that provider id.
 */
export async function applyProviderStatus(
  tx: SqlClient,
  providerMessageId: string,
  update: ProviderStatusUpdate,
): Promise<DeliveryRecord | null> {
  const { rows } = await tx.query<DeliveryRow>(
    `UPDATE deliveries
     SET status = $2,
         last_error = CASE WHEN $2 = 'dead' THEN $3::text ELSE last_error END,
         last_status_code = CASE WHEN $2 = 'dead' THEN $4::int ELSE last_status_code END,
         updated_at = now()
     WHERE id = (SELECT id FROM deliveries WHERE provider_message_id = $1 ORDER BY id LIMIT 1)
       AND status <> $2 AND status NOT IN ('dead', 'cancelled')
     RETURNING ${DELIVERY_COLUMNS}`,
    [providerMessageId, update.status, textParam(update.error), update.errorCode ?? null],
  );
  const changed = rows[0];
  if (!changed) return new DeliveriesRepository(tx).findByProviderMessageId(providerMessageId);
  if (update.status === 'dead') {
    await tx.query(
      `INSERT INTO dead_letters (id, delivery_id, run, message_id, subscription_id, topic, protocol, endpoint,
         attempts, reason, last_error, last_status_code, dead_at)
       SELECT $1, d.id, d.run, d.message_id, d.subscription_id, d.topic, d.protocol, s.endpoint,
              d.last_attempt, $3, d.last_error, d.last_status_code, now()
       FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
       WHERE d.id = $2
       ON CONFLICT DO NOTHING`,
      [newId('dlq'), changed.id, update.reason ?? 'provider reported the message undelivered'],
    );
  }
  return toDelivery(changed);
}
