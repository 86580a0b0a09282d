import { deliveryIdFor } from '@herald/core';
import type {
  AttemptEvent,
  CancelledEvent,
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
import { BACKGROUND_STATEMENT_TIMEOUT_MS, type SqlClient } from './sql-client';
import {
  columnArrays,
  jsonParam,
  recordset,
  rowValues,
  sqlState,
  unnestColumns,
  type RecordsetColumn,
} from './sql-values';

/** Deadlock or serialization failure: batches from several writers touched the same rows. */
const RETRYABLE_STATES = new Set(['40P01', '40001']);
const MAX_TRIES = 5;

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
        await this.sql.transaction((tx) => apply(tx, events), {
          statementTimeoutMs: BACKGROUND_STATEMENT_TIMEOUT_MS,
        });
        return;
      } catch (err) {
        const state = sqlState(err);
        if (tries >= MAX_TRIES || state === undefined || !RETRYABLE_STATES.has(state)) throw err;
      }
    }
  }
}

/** A delivery event: what folds into one delivery's state. */
type DeliveryEvent = AttemptEvent | DeadEvent | CancelledEvent;

/** The events of one delivery in this batch, in stream order, and whether the batch created it. */
interface Touched {
  identity: DeliveryIdentity | null;
  createdHere: boolean;
  events: DeliveryEvent[];
}

async function apply(tx: SqlClient, events: readonly CatalogEvent[]): Promise<void> {
  const messages: MessageEvent[] = [];
  const providerStatus: ProviderStatusEvent[] = [];
  const touched = new Map<string, Touched>();
  const touch = (id: string, identity: DeliveryIdentity | null, createdHere: boolean): Touched => {
    let t = touched.get(id);
    if (!t) {
      t = { identity, createdHere, events: [] };
      touched.set(id, t);
    } else {
      t.identity ??= identity;
      t.createdHere ||= createdHere;
    }
    return t;
  };
  for (const e of events) {
    switch (e.type) {
      case 'message':
        messages.push(e);
        for (const d of e.deliveries ?? []) {
          const id = deliveryIdFor(e.message.id, d.subscriptionId);
          touch(id, identity(id, e.message.id, d.subscriptionId, e.message.topic, d.protocol), true);
        }
        break;
      case 'deliveries':
        for (const item of e.items)
          touch(item.id, identity(item.id, e.messageId, item.subscriptionId, e.topic, item.protocol), true);
        break;
      case 'provider-status':
        providerStatus.push(e);
        break;
      case 'cancelled':
        touch(e.deliveryId, null, false).events.push(e);
        break;
      default:
        touch(
          e.deliveryId,
          identity(e.deliveryId, e.messageId, e.subscriptionId, e.topic, e.protocol),
          false,
        ).events.push(e);
    }
  }
  if (messages.length > 0) await upsertMessages(tx, messages);

  // Deliveries this batch created are almost always new: insert them without reading first, and fold
  // their events into the existing row only for those another batch recorded already (a replay).
  // First attempts of deliveries an earlier batch recorded as pending (a backlog's common case) are
  // written without reading first too: compare-and-set on the pending row.
  const settled = await applyFirstAttempts(tx, touched);
  const unsure = [...touched].filter(([id, t]) => !t.createdHere && !settled.has(id)).map(([id]) => id);
  for (const id of settled) touched.delete(id);
  const existing = await readDeliveries(tx, unsure);
  const folded = foldAll(touched, existing);
  const fresh = folded.states.filter((s) => !existing.has(s.id));
  const inserted = fresh.length > 0 ? await insertDeliveries(tx, fresh) : new Set<string>();
  const conflicts = fresh.filter((s) => !inserted.has(s.id)).map((s) => s.id);
  let updates = folded.states.filter((s) => existing.has(s.id) && changed(existing.get(s.id)!, s));
  let deadLetters = folded.deadLetters.filter((d) => !conflicts.includes(d.deliveryId));
  if (conflicts.length > 0) {
    const rows = await readDeliveries(tx, conflicts);
    const again = foldAll(new Map(conflicts.map((id) => [id, touched.get(id)!])), rows);
    updates = [...updates, ...again.states.filter((s) => changed(rows.get(s.id)!, s))];
    deadLetters = [...deadLetters, ...again.deadLetters];
  }
  if (updates.length > 0) await updateDeliveries(tx, updates);
  if (deadLetters.length > 0) await fileDeadLetters(tx, deadLetters);
  // Rare (one per SMS at most), so one statement each; after the attempts that set provider ids.
  for (const e of providerStatus) await applyProviderStatus(tx, e.providerMessageId, e.update);
}

/**
 * The deliveries of this batch whose events are only attempts, starting at the first attempt of the
 * first run: each folded from the pending row a fan-out records (newDelivery of its identity).
 */
function firstAttempts(touched: ReadonlyMap<string, Touched>): DeliveryState[] {
  const states: DeliveryState[] = [];
  for (const [, t] of touched) {
    if (t.createdHere || !t.identity || t.events.length === 0) continue;
    const first = t.events[0];
    if (first.type !== 'attempt' || first.run !== 1 || first.attempt !== 1) continue;
    if (!t.events.every((e) => e.type === 'attempt')) continue;
    let state = newDelivery(t.identity);
    for (const e of t.events) state = applyAttempt(state, e);
    states.push(state);
  }
  return states;
}

/**
 * Writes the first attempts (see firstAttempts) onto their rows where those are still exactly as a
 * fan-out recorded them (pending, run 1, no attempt), without reading them first; returns the ids
 * written. The others (no row yet, or a row that moved on: a replay, a cancellation, another
 * recorder's batch) go the way of any delivery: read, fold, write.
 */
async function applyFirstAttempts(
  tx: SqlClient,
  touched: ReadonlyMap<string, Touched>,
): Promise<Set<string>> {
  const states = firstAttempts(touched);
  if (states.length === 0) return new Set();
  const { rows } =
    tx.dialect === 'sqlite'
      ? await tx.queryEach<{ id: string }>(DELIVERY_ROW_UPDATE_PENDING, states.map(updateParams))
      : await tx.query<{ id: string }>(
          PG_UPDATE_PENDING,
          pgUpdateParams(states, PENDING_UPDATE_COLUMNS, WAS_FANNED_OUT),
        );
  return new Set(rows.map((r) => r.id));
}

function identity(
  id: string,
  messageId: string,
  subscriptionId: string,
  topic: string,
  protocol: DeliveryIdentity['protocol'],
): DeliveryIdentity {
  return { id, messageId, subscriptionId, topic, protocol };
}

/** The current rows of these deliveries, locked for this transaction (PostgreSQL). */
async function readDeliveries(tx: SqlClient, ids: string[]): Promise<Map<string, DeliveryState>> {
  const out = new Map<string, DeliveryState>();
  if (ids.length === 0) return out;
  const { rows } = await tx.query<DeliveryStateRow>(
    `SELECT ${DELIVERY_STATE_COLUMNS} FROM deliveries WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`,
    [ids],
  );
  for (const row of rows) out.set(row.id, toDeliveryState(row));
  return out;
}

/**
 * Folds each delivery's events, in stream order, onto its row (or a new one), and collects the dead
 * letters to file. A delivery with neither a row nor an identity (a cancellation of one never
 * recorded) is left out.
 */
function foldAll(
  touched: ReadonlyMap<string, Touched>,
  existing: ReadonlyMap<string, DeliveryState>,
): { states: DeliveryState[]; deadLetters: DeadLetterToFile[] } {
  const states: DeliveryState[] = [];
  const deadLetters: DeadLetterToFile[] = [];
  for (const [id, t] of touched) {
    const start = existing.get(id) ?? (t.identity ? newDelivery(t.identity) : null);
    if (!start) continue;
    let state = start;
    for (const e of t.events) {
      if (e.type === 'attempt') state = applyAttempt(state, e);
      else if (e.type === 'cancelled') state = applyCancelled(state, e);
      else {
        const dead = applyDead(state, e);
        state = dead.state;
        if (dead.file) deadLetters.push(dead.file);
      }
    }
    states.push(state);
  }
  return { states, deadLetters };
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

/** A message's row in MESSAGE_COLUMNS (its body as is; see upsertMessages). */
function messageRow(e: MessageEvent, ord: number): Record<string, unknown> {
  return {
    ord,
    id: e.message.id,
    topic: e.message.topic,
    subject: e.message.subject,
    body: e.message.body ?? null,
    body_by_protocol: e.message.bodyByProtocol ?? {},
    attributes: e.message.attributes ?? {},
    published_at: e.message.publishedAt,
    matched: int(e.matched) ?? 0,
    filtered_out: int(e.filteredOut) ?? 0,
  };
}

const MESSAGE_INSERT = `INSERT INTO messages (id, topic, subject, body, body_by_protocol, attributes,
     published_at, matched, filtered_out, fanned_out_at)`;
const MESSAGE_UPSERT = `ON CONFLICT (id) DO UPDATE SET matched = excluded.matched, filtered_out = excluded.filtered_out
     WHERE messages.matched <> excluded.matched OR messages.filtered_out <> excluded.filtered_out`;
/** SQLite's statement per row: the stored columns (not `ord`), then now(). */
const MESSAGE_ROW_COLUMNS = MESSAGE_COLUMNS.filter(([name]) => name !== 'ord');
const MESSAGE_ROW_UPSERT = `${MESSAGE_INSERT}
  VALUES (${placeholders(MESSAGE_ROW_COLUMNS.length)}, now()) ${MESSAGE_UPSERT}`;

async function upsertMessages(sql: SqlClient, events: MessageEvent[]): Promise<void> {
  // The last event of a message wins (a resumed fan-out's counts), and it is the only one inserted.
  const last = new Map<string, { e: MessageEvent; ord: number }>();
  events.forEach((e, ord) => last.set(e.message.id, { e, ord }));
  const rows = [...last.values()].map(({ e, ord }) => messageRow(e, ord));
  if (sql.dialect === 'sqlite') {
    await sql.queryEach(
      MESSAGE_ROW_UPSERT,
      rows.map((row) => rowValues(row, MESSAGE_ROW_COLUMNS)),
    );
    return;
  }
  await sql.query(
    `${MESSAGE_INSERT}
     SELECT id, topic, subject, body -> 'v', body_by_protocol, attributes, published_at, matched, filtered_out, now()
     FROM ${recordset(sql.dialect, '$1', MESSAGE_COLUMNS)} WHERE true
     ${MESSAGE_UPSERT}`,
    // The body wrapped, so a JSON null body stays distinguishable from a missing one (SQL NULL).
    [jsonParam(rows.map((row) => ({ ...row, body: { v: row.body } })))],
  );
}

/** `$1, $2, …, $n`. */
function placeholders(n: number, from = 1): string {
  return Array.from({ length: n }, (_, i) => `$${from + i}`).join(', ');
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

function deliveryRow(s: DeliveryState): Record<string, unknown> {
  return {
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
  };
}

const DELIVERY_INSERT_COLUMNS = DELIVERY_COLUMNS.map(([name]) => name).join(', ');
/** What an update rewrites: the columns from `status` on (the others are the delivery's identity). */
const DELIVERY_UPDATE_COLUMNS = DELIVERY_COLUMNS.slice(
  DELIVERY_COLUMNS.findIndex(([name]) => name === 'status'),
);
/** SQLite's statements per row; the update's $1 is the id, the updated columns follow. */
const DELIVERY_ROW_INSERT = `INSERT INTO deliveries (${DELIVERY_INSERT_COLUMNS})
  VALUES (${placeholders(DELIVERY_COLUMNS.length)}) ON CONFLICT (id) DO NOTHING RETURNING id`;
const DELIVERY_ROW_UPDATE = `UPDATE deliveries
  SET (${DELIVERY_UPDATE_COLUMNS.map(([name]) => name).join(', ')}, updated_at) =
    (${placeholders(DELIVERY_UPDATE_COLUMNS.length, 2)}, now())
  WHERE id = $1`;
/** A row as a fan-out records it: what a first attempt may be written onto without reading it. */
const AS_FANNED_OUT = { status: 'pending', run: 1, attempt_count: 0 } as const;
const STILL_PENDING = `status = '${AS_FANNED_OUT.status}' AND run = ${AS_FANNED_OUT.run} AND attempt_count = ${AS_FANNED_OUT.attempt_count}`;
const DELIVERY_ROW_UPDATE_PENDING = `${DELIVERY_ROW_UPDATE} AND ${STILL_PENDING} RETURNING id`;

/**
 * PostgreSQL's update of a batch of deliveries: one statement, the batch unnested from arrays (so the
 * planner knows its size; a JSON recordset is always guessed at 100 rows) and limited to the batch's
 * id range (the partitions of those days only: the ids carry their message's day).
 */
const PG_UPDATE_COLUMNS: readonly RecordsetColumn[] = [['id', 'text'], ...DELIVERY_UPDATE_COLUMNS];
const pgUpdate = (columns: readonly RecordsetColumn[]) => `UPDATE deliveries AS d
  SET (${DELIVERY_UPDATE_COLUMNS.map(([name]) => name).join(', ')}, updated_at) =
    (${DELIVERY_UPDATE_COLUMNS.map(([name]) => `x.${name}`).join(', ')}, now())
  FROM ${unnestColumns(columns, 3)}
  WHERE d.id = x.id AND d.id >= $1 AND d.id <= $2`;
const PG_UPDATE = pgUpdate(PG_UPDATE_COLUMNS);

/**
 * The compare-and-set: the same update, where each row is still as the fan-out recorded it. The
 * expected row (`was_*`) comes in with each update, so the test is a join condition. Written as
 * constants, `status = 'pending' AND …` on a partition without statistics yet (a fresh day, a fresh
 * install) was estimated at one row through the partial index on unfinished deliveries, and the
 * planner joined that one row against a recordset guessed at 100 rows by rescanning the recordset for
 * each pending row it found: one batch of a 100,000-subscription fan-out ran past the statement
 * timeout, on every retry.
 */
const PENDING_UPDATE_COLUMNS: readonly RecordsetColumn[] = [
  ...PG_UPDATE_COLUMNS,
  ['was_status', 'text'],
  ['was_run', 'int'],
  ['was_attempt_count', 'int'],
];
const PG_UPDATE_PENDING = `${pgUpdate(PENDING_UPDATE_COLUMNS)}
    AND d.status = x.was_status AND d.run = x.was_run AND d.attempt_count = x.was_attempt_count
  RETURNING d.id`;
const WAS_FANNED_OUT = {
  was_status: AS_FANNED_OUT.status,
  was_run: AS_FANNED_OUT.run,
  was_attempt_count: AS_FANNED_OUT.attempt_count,
};

/** The parameters of PG_UPDATE (or PG_UPDATE_PENDING, with `extra` its expected row) for a batch. */
function pgUpdateParams(
  states: DeliveryState[],
  columns: readonly RecordsetColumn[],
  extra: Readonly<Record<string, unknown>> = {},
): unknown[] {
  const ids = states.map((s) => s.id).sort();
  const rows = states.map((s) => Object.assign(deliveryRow(s), extra));
  return [ids[0], ids[ids.length - 1], ...columnArrays(rows, columns)];
}

/** Inserts new deliveries; returns the ids inserted (the others exist already). */
async function insertDeliveries(sql: SqlClient, states: DeliveryState[]): Promise<Set<string>> {
  const { rows } =
    sql.dialect === 'sqlite'
      ? await sql.queryEach<{ id: string }>(
          DELIVERY_ROW_INSERT,
          states.map((s) => rowValues(deliveryRow(s), DELIVERY_COLUMNS)),
        )
      : await sql.query<{ id: string }>(
          `INSERT INTO deliveries (${DELIVERY_INSERT_COLUMNS})
           SELECT ${DELIVERY_INSERT_COLUMNS} FROM ${recordset(sql.dialect, '$1', DELIVERY_COLUMNS)} WHERE true
           ON CONFLICT (id) DO NOTHING
           RETURNING id`,
          [jsonParam(states.map(deliveryRow))],
        );
  return new Set(rows.map((r) => r.id));
}

/** SQLite's parameters of DELIVERY_ROW_UPDATE (and DELIVERY_ROW_UPDATE_PENDING) for one delivery. */
function updateParams(s: DeliveryState): unknown[] {
  return [s.id, ...rowValues(deliveryRow(s), DELIVERY_UPDATE_COLUMNS)];
}

async function updateDeliveries(sql: SqlClient, states: DeliveryState[]): Promise<void> {
  if (sql.dialect === 'sqlite') {
    await sql.queryEach(DELIVERY_ROW_UPDATE, states.map(updateParams));
    return;
  }
  await sql.query(PG_UPDATE, pgUpdateParams(states, PG_UPDATE_COLUMNS));
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
