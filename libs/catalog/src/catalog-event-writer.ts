import { deliveryIdFor } from '@herald/core';
import type {
  AttemptEvent,
  CatalogEvent,
  DeadEvent,
  MessageEvent,
  ProviderStatusEvent,
} from './catalog-event';
import { applyProviderStatus } from './deliveries-repository';
import {
  applyAttempt,
  applyCancelled,
  applyDead,
  changed,
  newDelivery,
  type DeadLetterToFile,
  type DeliveryIdentity,
  type DeliveryState,
} from './delivery-state';
import { DELIVERY_STATE_COLUMNS, toDeliveryState, type DeliveryStateRow } from './row-mappers';
import type { SqlClient } from './sql-client';
import { jsonParam, recordset, sqlState, type RecordsetColumn } from './sql-values';

/** Deadlock, serialization failure, and a row another writer inserted meanwhile: run the batch again. */
const RETRYABLE_STATES = new Set(['40P01', '40001', '23505']);
const MAX_TRIES = 5;

/** Raised when a delivery this batch meant to insert was inserted by a concurrent writer. */
class ConcurrentInsert extends Error {
  readonly code = '23505';
}

/**
 * Applies publishers' and workers' events in one transaction. Events are first folded, in stream
 * order, into the final state of each delivery they touch (see delivery-state.ts), so a delivery made
 * on its first attempt is written once, as one new row holding its attempt, however many events
 * described it. Idempotent (applying the same events again changes nothing) and monotonic by (run,
 * attempt), so late or replayed events never regress a delivery. Any number of writers may run.
 */
export class CatalogEventWriter {
  constructor(private readonly sql: SqlClient) {}

  async applyEvents(events: readonly CatalogEvent[]): Promise<void> {
    if (events.length === 0) return;
    for (let tries = 1; ; tries++) {
      try {
        await this.sql.transaction((tx) => apply(tx, events));
        return;
      } catch (err) {
        const state = sqlState(err);
        if (tries >= MAX_TRIES || state === undefined || !RETRYABLE_STATES.has(state)) throw err;
      }
    }
  }
}

async function apply(tx: SqlClient, events: readonly CatalogEvent[]): Promise<void> {
  const messages: MessageEvent[] = [];
  const providerStatus: ProviderStatusEvent[] = [];
  const touched = new Set<string>();
  for (const e of events) {
    if (e.type === 'message') {
      messages.push(e);
      for (const d of e.deliveries ?? []) touched.add(deliveryIdFor(e.message.id, d.subscriptionId));
    } else if (e.type === 'deliveries') for (const item of e.items) touched.add(item.id);
    else if (e.type === 'provider-status') providerStatus.push(e);
    else touched.add(e.deliveryId);
  }
  if (messages.length > 0) await upsertMessages(tx, messages);

  const existing = new Map<string, DeliveryState>();
  if (touched.size > 0) {
    const { rows } = await tx.query<DeliveryStateRow>(
      `SELECT ${DELIVERY_STATE_COLUMNS} FROM deliveries WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`,
      [[...touched]],
    );
    for (const row of rows) existing.set(row.id, toDeliveryState(row));
  }

  const states = new Map(existing);
  const created = (identity: DeliveryIdentity) => {
    if (!states.has(identity.id)) states.set(identity.id, newDelivery(identity));
  };
  const identityOf = (e: AttemptEvent | DeadEvent): DeliveryIdentity => ({
    id: e.deliveryId,
    messageId: e.messageId,
    subscriptionId: e.subscriptionId,
    topic: e.topic,
    protocol: e.protocol,
  });
  const deadLetters: DeadLetterToFile[] = [];
  for (const e of events) {
    switch (e.type) {
      case 'message':
        for (const d of e.deliveries ?? []) {
          const id = deliveryIdFor(e.message.id, d.subscriptionId);
          created({
            id,
            messageId: e.message.id,
            topic: e.message.topic,
            subscriptionId: d.subscriptionId,
            protocol: d.protocol,
          });
        }
        break;
      case 'deliveries':
        for (const item of e.items)
          created({
            id: item.id,
            subscriptionId: item.subscriptionId,
            protocol: item.protocol,
            messageId: e.messageId,
            topic: e.topic,
          });
        break;
      case 'attempt': {
        created(identityOf(e));
        states.set(e.deliveryId, applyAttempt(states.get(e.deliveryId)!, e));
        break;
      }
      case 'dead': {
        created(identityOf(e));
        const { state, file } = applyDead(states.get(e.deliveryId)!, e);
        states.set(e.deliveryId, state);
        if (file) deadLetters.push(file);
        break;
      }
      case 'cancelled': {
        const state = states.get(e.deliveryId);
        if (state) states.set(e.deliveryId, applyCancelled(state, e));
        break;
      }
      case 'provider-status':
        break;
    }
  }

  const inserts: DeliveryState[] = [];
  const updates: DeliveryState[] = [];
  for (const [id, state] of states) {
    const before = existing.get(id);
    if (!before) inserts.push(state);
    else if (changed(before, state)) updates.push(state);
  }
  if (inserts.length > 0) await insertDeliveries(tx, inserts);
  if (updates.length > 0) await updateDeliveries(tx, updates);
  if (deadLetters.length > 0) await fileDeadLetters(tx, deadLetters);
  // Rare (one per SMS at most), so one statement each; after the attempts that set provider ids.
  for (const e of providerStatus) await applyProviderStatus(tx, e.providerMessageId, e.update);
}

function int(value: number | null | undefined): number | null {
  return value === null || value === undefined || !Number.isFinite(value) ? null : Math.round(value);
}

const MESSAGE_COLUMNS: readonly RecordsetColumn[] = [
  ['ord', 'int'],
  ['id', 'text'],
  ['topic', 'text'],
  ['subject', 'text'],
  ['body', 'jsonb'],
  ['body_by_protocol', 'jsonb'],
  ['attributes', 'jsonb'],
  ['published_at', 'timestamptz'],
  ['matched', 'int'],
  ['filtered_out', 'int'],
];

async function upsertMessages(sql: SqlClient, events: MessageEvent[]): Promise<void> {
  // The last event of a message wins (a resumed fan-out's counts), and it is the only one inserted.
  const last = new Map<string, { e: MessageEvent; ord: number }>();
  events.forEach((e, ord) => last.set(e.message.id, { e, ord }));
  const rows = [...last.values()].map(({ e, ord }) => ({
    ord,
    id: e.message.id,
    topic: e.message.topic,
    subject: e.message.subject,
    // Wrapped so a JSON null body stays distinguishable from a missing one on either engine.
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
     SELECT id, topic, subject, body -> 'v', body_by_protocol, attributes, published_at, matched, filtered_out, now()
     FROM ${recordset(sql.dialect, '$1', MESSAGE_COLUMNS)} WHERE true
     ON CONFLICT (id) DO UPDATE SET matched = excluded.matched, filtered_out = excluded.filtered_out
       WHERE messages.matched <> excluded.matched OR messages.filtered_out <> excluded.filtered_out`,
    [jsonParam(rows)],
  );
}

const DELIVERY_COLUMNS: readonly RecordsetColumn[] = [
  ['id', 'text'],
  ['message_id', 'text'],
  ['subscription_id', 'text'],
  ['topic', 'text'],
  ['protocol', 'text'],
  ['status', 'text'],
  ['attempt_count', 'int'],
  ['run', 'int'],
  ['last_attempt', 'int'],
  ['last_error', 'text'],
  ['last_status_code', 'int'],
  ['provider_message_id', 'text'],
  ['attempts', 'jsonb'],
];

function deliveryRows(states: DeliveryState[]) {
  return states.map((s) => ({
    id: s.id,
    message_id: s.messageId,
    subscription_id: s.subscriptionId,
    topic: s.topic,
    protocol: s.protocol,
    status: s.status,
    attempt_count: s.attempts.length,
    run: s.run,
    last_attempt: s.lastAttempt,
    last_error: s.lastError,
    last_status_code: s.lastStatusCode,
    provider_message_id: s.providerMessageId,
    attempts: s.attempts,
  }));
}

const DELIVERY_INSERT_COLUMNS = DELIVERY_COLUMNS.map(([name]) => name).join(', ');

async function insertDeliveries(sql: SqlClient, states: DeliveryState[]): Promise<void> {
  const { rowCount } = await sql.query(
    `INSERT INTO deliveries (${DELIVERY_INSERT_COLUMNS})
     SELECT ${DELIVERY_INSERT_COLUMNS} FROM ${recordset(sql.dialect, '$1', DELIVERY_COLUMNS)} WHERE true
     ON CONFLICT (id) DO NOTHING`,
    [jsonParam(deliveryRows(states))],
  );
  // Another writer recorded one of these deliveries since we looked: fold our events into its row.
  if (rowCount !== states.length) throw new ConcurrentInsert('a delivery was recorded concurrently');
}

async function updateDeliveries(sql: SqlClient, states: DeliveryState[]): Promise<void> {
  await sql.query(
    `UPDATE deliveries AS d SET status = x.status, attempt_count = x.attempt_count, run = x.run,
       last_attempt = x.last_attempt, last_error = x.last_error, last_status_code = x.last_status_code,
       provider_message_id = x.provider_message_id, attempts = x.attempts, updated_at = now()
     FROM ${recordset(sql.dialect, '$1', DELIVERY_COLUMNS)}
     WHERE d.id = x.id`,
    [jsonParam(deliveryRows(states))],
  );
}

const DEAD_LETTER_COLUMNS: readonly RecordsetColumn[] = [
  ['id', 'text'],
  ['delivery_id', 'text'],
  ['run', 'int'],
  ['message_id', 'text'],
  ['subscription_id', 'text'],
  ['topic', 'text'],
  ['protocol', 'text'],
  ['endpoint', 'text'],
  ['attempts', 'int'],
  ['reason', 'text'],
  ['last_error', 'text'],
  ['last_status_code', 'int'],
  ['dead_at', 'timestamptz'],
];

async function fileDeadLetters(sql: SqlClient, entries: DeadLetterToFile[]): Promise<void> {
  const rows = entries.map((e) => ({
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
    last_error: e.lastError === null ? null : e.lastError.slice(0, 2000),
    last_status_code: int(e.lastStatusCode),
    dead_at: e.deadAt,
  }));
  const columns = DEAD_LETTER_COLUMNS.map(([name]) => name).join(', ');
  // One entry per (delivery, run): a replayed dead event finds its entry filed already.
  await sql.query(
    `INSERT INTO dead_letters (${columns})
     SELECT ${columns} FROM ${recordset(sql.dialect, '$1', DEAD_LETTER_COLUMNS)} WHERE true
     ON CONFLICT DO NOTHING`,
    [jsonParam(rows)],
  );
}
