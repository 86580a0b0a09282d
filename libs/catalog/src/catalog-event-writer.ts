import type {
  AttemptEvent,
  CancelledEvent,
  CatalogEvent,
  DeadEvent,
  DeliveriesEvent,
  MessageEvent,
  ProviderStatusEvent,
  SubscriptionStatusEvent,
} from './catalog-event';
import { applyProviderStatus } from './deliveries-repository';
import type { SqlClient } from './sql-client';
import { jsonParam, sqlState } from './sql-values';

/** Receivers' error texts can be long; a bound keeps attempt rows small. */
const MAX_ERROR_LENGTH = 2000;

/** Deadlock and serialization failure: batches from several workers (or a redrive) touched the same rows. */
const RETRYABLE_STATES = new Set(['40P01', '40001']);
const MAX_TRIES = 5;

type Grouped = {
  message: MessageEvent[];
  deliveries: DeliveriesEvent[];
  attempt: AttemptEvent[];
  dead: DeadEvent[];
  cancelled: CancelledEvent[];
  'subscription-status': SubscriptionStatusEvent[];
  'provider-status': ProviderStatusEvent[];
};

/**
 * Applies worker events in one transaction with one statement per kind of event: each kind's
 * events travel as one JSON array expanded by jsonb_to_recordset. Idempotent (applying the same
 * events again changes nothing) and monotonic: a delivery only moves to the state of an attempt
 * newer, by (run, attempt), than the one it shows, so late or replayed events never regress it.
 */
export class CatalogEventWriter {
  constructor(private readonly sql: SqlClient) {}

  async applyEvents(events: readonly CatalogEvent[]): Promise<void> {
    if (events.length === 0) return;
    const g: Grouped = {
      message: [],
      deliveries: [],
      attempt: [],
      dead: [],
      cancelled: [],
      'subscription-status': [],
      'provider-status': [],
    };
    for (const event of events) (g[event.type] as CatalogEvent[]).push(event);
    // Applying a batch is idempotent, so a transaction that lost a deadlock is simply run again.
    for (let tries = 1; ; tries++) {
      try {
        await this.applyGrouped(g);
        return;
      } catch (err) {
        const state = sqlState(err);
        if (tries >= MAX_TRIES || state === undefined || !RETRYABLE_STATES.has(state)) throw err;
      }
    }
  }

  private async applyGrouped(g: Grouped): Promise<void> {
    await this.sql.transaction(async (tx) => {
      // Order matters: deliveries before the attempts that move them, attempts before dead letters.
      if (g.message.length > 0) await upsertMessages(tx, g.message);
      const deliveries = [...g.deliveries, ...deliveriesOfAttempts(g.attempt)];
      if (deliveries.length > 0) await insertDeliveries(tx, deliveries);
      if (g.attempt.length > 0) await applyAttempts(tx, g.attempt);
      if (g.dead.length > 0) await applyDead(tx, g.dead);
      if (g.cancelled.length > 0) await applyCancelled(tx, g.cancelled);
      if (g['subscription-status'].length > 0) await applySubscriptionStatus(tx, g['subscription-status']);
      // Rare (one per SMS at most), so one statement each; after the attempts that set provider ids.
      for (const e of g['provider-status']) await applyProviderStatus(tx, e.providerMessageId, e.update);
    });
  }
}

/** Deliveries described by attempt events that carry the delivery's identity. */
function deliveriesOfAttempts(events: AttemptEvent[]): DeliveriesEvent[] {
  const out: DeliveriesEvent[] = [];
  for (const e of events) {
    if (e.messageId === undefined || e.subscriptionId === undefined || e.topic === undefined) continue;
    if (e.protocol === undefined) continue;
    out.push({
      type: 'deliveries',
      messageId: e.messageId,
      topic: e.topic,
      items: [{ id: e.deliveryId, subscriptionId: e.subscriptionId, protocol: e.protocol }],
    });
  }
  return out;
}

function int(value: number | null | undefined): number | null {
  return value === null || value === undefined || !Number.isFinite(value) ? null : Math.round(value);
}

function errorText(value: string | null | undefined): string | null {
  return value === null || value === undefined ? null : value.slice(0, MAX_ERROR_LENGTH);
}

async function upsertMessages(sql: SqlClient, events: MessageEvent[]): Promise<void> {
  const rows = events.map((e, ord) => ({
    ord,
    id: e.message.id,
    topic: e.message.topic,
    subject: e.message.subject,
    // Wrapped so a JSON null body stays distinguishable from a missing key.
    body: { v: e.message.body ?? null },
    body_by_protocol: e.message.bodyByProtocol ?? {},
    attributes: e.message.attributes ?? {},
    published_at: e.message.publishedAt,
    matched: int(e.matched) ?? 0,
    filtered_out: int(e.filteredOut) ?? 0,
  }));
  await sql.query(
    `INSERT INTO messages (id, topic, subject, body, body_by_protocol, attributes, published_at, matched,
       filtered_out, fanned_out_at)
     SELECT DISTINCT ON (id) id, topic, subject, body -> 'v', body_by_protocol, attributes, published_at, matched,
            filtered_out, now()
     FROM jsonb_to_recordset($1::text::jsonb) AS x(ord int, id text, topic text, subject text, body jsonb,
       body_by_protocol jsonb, attributes jsonb, published_at timestamptz, matched int, filtered_out int)
     ORDER BY id, ord DESC
     ON CONFLICT (id) DO UPDATE SET matched = excluded.matched, filtered_out = excluded.filtered_out
       WHERE messages.matched <> excluded.matched OR messages.filtered_out <> excluded.filtered_out`,
    [jsonParam(rows)],
  );
}

/**
 * New deliveries start pending, or, when their attempts were recorded first (events applied out of
 * order), from the newest of them.
 */
async function insertDeliveries(sql: SqlClient, events: DeliveriesEvent[]): Promise<void> {
  const rows = events.flatMap((e) =>
    e.items.map((item) => ({
      id: item.id,
      message_id: e.messageId,
      subscription_id: item.subscriptionId,
      topic: e.topic,
      protocol: item.protocol,
    })),
  );
  if (rows.length === 0) return;
  await sql.query(
    `INSERT INTO deliveries (id, message_id, subscription_id, topic, protocol, status, attempt_count, run,
       last_attempt, last_error, last_status_code, provider_message_id)
     SELECT i.id, i.message_id, i.subscription_id, i.topic, i.protocol, COALESCE(a.delivery_status, 'pending'),
            COALESCE(n.count, 0), COALESCE(a.run, 1), COALESCE(a.attempt, 0), a.error, a.status_code,
            a.provider_message_id
     FROM (
       SELECT DISTINCT ON (id) * FROM jsonb_to_recordset($1::text::jsonb)
         AS x(id text, message_id text, subscription_id text, topic text, protocol text)
       -- Most rows exist already (the fan-out created them before their first attempt): skip them
       -- before the attempt lookups below rather than at the conflict.
       WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = x.id)
       ORDER BY id
     ) i
     LEFT JOIN LATERAL (
       SELECT run, attempt, delivery_status, error, status_code, provider_message_id FROM attempts
       WHERE delivery_id = i.id ORDER BY run DESC, attempt DESC LIMIT 1
     ) a ON true
     LEFT JOIN LATERAL (SELECT count(*)::int AS count FROM attempts WHERE delivery_id = i.id) n ON true
     ON CONFLICT (id) DO NOTHING`,
    [jsonParam(rows)],
  );
}

/**
 * Whether the batch's newest attempt `s` of a delivery moves delivery `d`: it must be newer by (run,
 * attempt) than what `d` shows, and a cancelled delivery is not put back to pending/retrying by its
 * own run. Evaluated in the UPDATE itself so that, under concurrent batches, PostgreSQL re-checks it
 * against the latest version of the row.
 */
const NEWER_ATTEMPT = `(ROW(s.run, s.attempt) > ROW(d.run, d.last_attempt)
  AND NOT (d.status = 'cancelled' AND s.run <= d.run AND s.status IN ('pending', 'retrying')))`;

/**
 * Records attempts (a replayed one is ignored) and moves each delivery to its newest attempt of the
 * batch when that is newer. attempt_count grows by the attempts actually inserted, so it is right
 * whatever order events arrive in and however often they are replayed.
 */
async function applyAttempts(sql: SqlClient, events: AttemptEvent[]): Promise<void> {
  const rows = events.map((e) => ({
    delivery_id: e.deliveryId,
    run: int(e.run),
    attempt: int(e.attempt),
    at: e.at,
    duration_ms: Math.max(0, int(e.durationMs) ?? 0),
    outcome: e.outcome,
    status_code: int(e.statusCode),
    error: errorText(e.error),
    status: e.status,
    provider_message_id: e.providerMessageId,
  }));
  await sql.query(
    `WITH ev AS (
       SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS x(delivery_id text, run int, attempt int, at timestamptz,
         duration_ms int, outcome text, status_code int, error text, status text, provider_message_id text)
     ), inserted AS (
       INSERT INTO attempts (delivery_id, run, attempt, at, duration_ms, outcome, status_code, error, delivery_status,
         provider_message_id)
       SELECT DISTINCT ON (delivery_id, run, attempt) delivery_id, run, attempt, at, duration_ms, outcome, status_code,
              error, status, provider_message_id
       FROM ev ORDER BY delivery_id, run, attempt
       ON CONFLICT (delivery_id, run, attempt) DO NOTHING
       RETURNING delivery_id
     ), added AS (
       SELECT delivery_id, count(*)::int AS n FROM inserted GROUP BY delivery_id
     ), newest AS (
       SELECT DISTINCT ON (delivery_id) delivery_id, run, attempt, status, status_code, error, provider_message_id
       FROM ev ORDER BY delivery_id, run DESC, attempt DESC
     ), s AS (
       SELECT newest.*, COALESCE(added.n, 0) AS n FROM newest LEFT JOIN added USING (delivery_id)
     )
     UPDATE deliveries d SET
       attempt_count = d.attempt_count + s.n,
       status = CASE WHEN ${NEWER_ATTEMPT} THEN s.status ELSE d.status END,
       run = CASE WHEN ${NEWER_ATTEMPT} THEN s.run ELSE d.run END,
       last_attempt = CASE WHEN ${NEWER_ATTEMPT} THEN s.attempt ELSE d.last_attempt END,
       last_error = CASE WHEN ${NEWER_ATTEMPT} THEN s.error ELSE d.last_error END,
       last_status_code = CASE WHEN ${NEWER_ATTEMPT} THEN s.status_code ELSE d.last_status_code END,
       provider_message_id = CASE WHEN ${NEWER_ATTEMPT} THEN COALESCE(s.provider_message_id, d.provider_message_id)
                                  ELSE d.provider_message_id END,
       updated_at = now()
     FROM s
     WHERE d.id = s.delivery_id AND (s.n > 0 OR ${NEWER_ATTEMPT})`,
    [jsonParam(rows)],
  );
}

/**
 * Files dead letters and marks their deliveries dead, unless the delivery has moved on: a later run
 * (it was redriven, so a replayed event must not bring the entry back) or delivered in that run.
 */
async function applyDead(sql: SqlClient, events: DeadEvent[]): Promise<void> {
  const rows = events.map((e) => ({
    id: e.id,
    delivery_id: e.deliveryId,
    run: int(e.run),
    message_id: e.messageId,
    subscription_id: e.subscriptionId,
    topic: e.topic,
    protocol: e.protocol,
    endpoint: e.endpoint,
    attempts: int(e.attempts) ?? 0,
    reason: e.reason,
    last_error: errorText(e.lastError),
    last_status_code: int(e.lastStatusCode),
    dead_at: e.deadAt,
  }));
  await sql.query(
    `WITH ev AS (
       SELECT DISTINCT ON (delivery_id, run) * FROM jsonb_to_recordset($1::text::jsonb)
         AS x(id text, delivery_id text, run int, message_id text, subscription_id text, topic text, protocol text,
              endpoint text, attempts int, reason text, last_error text, last_status_code int, dead_at timestamptz)
       ORDER BY delivery_id, run, id
     ), filed AS (
       INSERT INTO dead_letters (id, delivery_id, run, message_id, subscription_id, topic, protocol, endpoint,
         attempts, reason, last_error, last_status_code, dead_at)
       SELECT ev.id, ev.delivery_id, ev.run, ev.message_id, ev.subscription_id, ev.topic, ev.protocol, ev.endpoint,
              ev.attempts, ev.reason, ev.last_error, ev.last_status_code, ev.dead_at
       FROM ev LEFT JOIN deliveries d ON d.id = ev.delivery_id
       WHERE d.id IS NULL OR d.run < ev.run OR (d.run = ev.run AND d.status <> 'delivered')
       ON CONFLICT DO NOTHING
     ), latest AS (
       SELECT DISTINCT ON (delivery_id) * FROM ev ORDER BY delivery_id, run DESC
     )
     UPDATE deliveries d SET
       status = 'dead',
       last_attempt = CASE WHEN l.run > d.run THEN l.attempts ELSE GREATEST(d.last_attempt, l.attempts) END,
       run = l.run,
       last_error = COALESCE(l.last_error, d.last_error),
       last_status_code = COALESCE(l.last_status_code, d.last_status_code),
       updated_at = now()
     FROM latest l
     WHERE d.id = l.delivery_id AND (d.run < l.run OR (d.run = l.run AND d.status IN ('pending', 'retrying')))`,
    [jsonParam(rows)],
  );
}

async function applyCancelled(sql: SqlClient, events: CancelledEvent[]): Promise<void> {
  const rows = events.map((e) => ({
    delivery_id: e.deliveryId,
    run: int(e.run),
    reason: errorText(e.reason),
  }));
  await sql.query(
    `WITH ev AS (
       SELECT DISTINCT ON (delivery_id) * FROM jsonb_to_recordset($1::text::jsonb)
         AS x(delivery_id text, run int, reason text)
       ORDER BY delivery_id, run DESC
     )
     UPDATE deliveries d SET status = 'cancelled', run = ev.run, last_error = ev.reason, updated_at = now()
     FROM ev
     WHERE d.id = ev.delivery_id AND (d.run < ev.run OR (d.run = ev.run AND d.status IN ('pending', 'retrying')))`,
    [jsonParam(rows)],
  );
}

async function applySubscriptionStatus(sql: SqlClient, events: SubscriptionStatusEvent[]): Promise<void> {
  const rows = events.map((e, ord) => ({ ord, id: e.subscriptionId, status: e.status }));
  await sql.query(
    `WITH ev AS (
       SELECT DISTINCT ON (id) * FROM jsonb_to_recordset($1::text::jsonb) AS x(ord int, id text, status text)
       ORDER BY id, ord DESC
     )
     UPDATE subscriptions s SET status = ev.status, updated_at = now()
     FROM ev WHERE s.id = ev.id AND s.status <> ev.status`,
    [jsonParam(rows)],
  );
}
