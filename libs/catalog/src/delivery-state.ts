import type { AttemptOutcome, DeliveryStatus, ReceiverAnswer } from '@herald/core';
import type { AttemptEvent, CancelledEvent, DeadEvent } from './catalog-event';
import type { DeliveryRecord } from './catalog-types';

/** Receivers' error texts can be long; a bound keeps delivery rows small. */
export const MAX_ERROR_LENGTH = 2000;

/** One attempt as stored in its delivery's `attempts` array, ordered by (run, attempt). */
export interface StoredAttempt {
  run: number;
  attempt: number;
  /** ISO 8601. */
  at: string;
  durationMs: number;
  outcome: AttemptOutcome;
  statusCode: number | null;
  error: string | null;
  /** Absent on attempts recorded before answers were kept. */
  response?: ReceiverAnswer | null;
}

/**
 * A delivery row as the catalog writer reads and writes it; `run` (1 + redrives) and `lastAttempt`
 * (within the run) are the position of the newest attempt applied.
 */
export interface DeliveryState extends Pick<
  DeliveryRecord,
  | 'id'
  | 'messageId'
  | 'subscriptionId'
  | 'topic'
  | 'protocol'
  | 'status'
  | 'run'
  | 'lastAttempt'
  | 'lastError'
  | 'lastStatusCode'
  | 'providerMessageId'
> {
  attempts: StoredAttempt[];
}

export type DeliveryIdentity = Pick<
  DeliveryState,
  'id' | 'messageId' | 'subscriptionId' | 'topic' | 'protocol'
>;

/** A dead letter to file, decided while applying a DeadEvent. */
export type DeadLetterToFile = DeadEvent;

/** The status a delivery has after an attempt with this outcome. */
export function statusAfter(outcome: AttemptOutcome): DeliveryStatus {
  return outcome === 'delivered' ? 'delivered' : outcome === 'retry' ? 'retrying' : 'dead';
}

export function newDelivery(identity: DeliveryIdentity): DeliveryState {
  return {
    id: identity.id,
    messageId: identity.messageId,
    subscriptionId: identity.subscriptionId,
    topic: identity.topic,
    protocol: identity.protocol,
    status: 'pending',
    run: 1,
    lastAttempt: 0,
    lastError: null,
    lastStatusCode: null,
    providerMessageId: null,
    attempts: [],
  };
}

const isOpen = (status: DeliveryStatus) => status === 'pending' || status === 'retrying';

/** (run, attempt) of `a` after (run, attempt) of `b`. */
function newer(aRun: number, aAttempt: number, bRun: number, bAttempt: number): boolean {
  return aRun > bRun || (aRun === bRun && aAttempt > bAttempt);
}

function bounded(text: string | null): string | null {
  return text === null ? null : text.slice(0, MAX_ERROR_LENGTH);
}

/**
 * Applies one attempt. Idempotent (a replayed attempt is not added twice) and monotonic: the delivery
 * moves only to an attempt newer, by (run, attempt), than the one it shows, so late or replayed
 * events never regress it, and a cancelled delivery is not reopened by an attempt of its own run.
 */
export function applyAttempt(state: DeliveryState, e: AttemptEvent): DeliveryState {
  if (state.attempts.some((a) => a.run === e.run && a.attempt === e.attempt)) return state;
  const attempt: StoredAttempt = {
    run: e.run,
    attempt: e.attempt,
    at: e.at,
    durationMs: Math.max(0, Math.round(e.durationMs)),
    outcome: e.outcome,
    statusCode: e.statusCode,
    error: bounded(e.error),
    response: e.response ?? null,
  };
  const attempts = [...state.attempts, attempt];
  // Attempts nearly always arrive in order; sort only when this one is older than the last.
  const last = state.attempts[state.attempts.length - 1];
  if (last && (last.run > e.run || (last.run === e.run && last.attempt > e.attempt)))
    attempts.sort((a, b) => a.run - b.run || a.attempt - b.attempt);
  const status = statusAfter(e.outcome);
  const moves =
    newer(e.run, e.attempt, state.run, state.lastAttempt) &&
    !(state.status === 'cancelled' && e.run <= state.run && isOpen(status));
  if (!moves) return { ...state, attempts };
  return {
    ...state,
    attempts,
    status,
    run: e.run,
    lastAttempt: e.attempt,
    lastError: attempt.error,
    lastStatusCode: e.statusCode,
    providerMessageId: e.providerMessageId ?? state.providerMessageId,
  };
}

/**
 * Applies a dead event: the dead letter is filed unless the delivery has moved on (a later run: it
 * was redriven, so a replayed event must not bring the entry back; or delivered in that run), and an
 * open delivery of that run or an earlier one becomes dead.
 */
export function applyDead(
  state: DeliveryState,
  e: DeadEvent,
): { state: DeliveryState; file: DeadLetterToFile | null } {
  const file = state.run < e.run || (state.run === e.run && state.status !== 'delivered') ? e : null;
  if (!(state.run < e.run || (state.run === e.run && isOpen(state.status)))) return { state, file };
  return {
    state: {
      ...state,
      status: 'dead',
      lastAttempt: e.run > state.run ? e.attempts : Math.max(state.lastAttempt, e.attempts),
      run: e.run,
      lastError: bounded(e.lastError) ?? state.lastError,
      lastStatusCode: e.lastStatusCode ?? state.lastStatusCode,
    },
    file,
  };
}

/** Cancels a delivery still open in that run (or an earlier one). */
export function applyCancelled(state: DeliveryState, e: CancelledEvent): DeliveryState {
  if (!(state.run < e.run || (state.run === e.run && isOpen(state.status)))) return state;
  return { ...state, status: 'cancelled', run: e.run, lastError: bounded(e.reason) };
}

/** Two states differ in what the row stores. */
export function changed(a: DeliveryState, b: DeliveryState): boolean {
  return (
    a.status !== b.status ||
    a.run !== b.run ||
    a.lastAttempt !== b.lastAttempt ||
    a.lastError !== b.lastError ||
    a.lastStatusCode !== b.lastStatusCode ||
    a.providerMessageId !== b.providerMessageId ||
    a.attempts.length !== b.attempts.length
  );
}
