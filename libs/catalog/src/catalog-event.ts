import type { DeadLetter, ProviderStatusUpdate } from './catalog-types';
import type { AttemptOutcome, MessagePayload, Protocol, ReceiverAnswer } from '@herald/core';

/**
 * A message as fanned out: its payload, its counts and, when the fan-out happened in one go (at
 * publish), the deliveries it created. Large topics add their deliveries page by page instead.
 */
export interface MessageEvent {
  type: 'message';
  message: MessagePayload;
  matched: number;
  filteredOut: number;
  deliveries?: Array<{ subscriptionId: string; protocol: Protocol }>;
}

/** Deliveries created by one page of a large topic's fan-out, all pending. */
export interface DeliveriesEvent {
  type: 'deliveries';
  messageId: string;
  topic: string;
  items: Array<{ id: string; subscriptionId: string; protocol: Protocol }>;
}

/**
 * One attempt of a delivery; `attempt` is 1-based within `run` (a redrive starts run + 1 with a new
 * budget). It carries the delivery's identity, so the delivery is recorded whichever event of it is
 * applied first. `outcome` says what the attempt decided: `retry` (another attempt follows),
 * `delivered`, or `failed` (no attempt follows: the delivery is dead).
 */
export interface AttemptEvent {
  type: 'attempt';
  deliveryId: string;
  messageId: string;
  subscriptionId: string;
  topic: string;
  protocol: Protocol;
  run: number;
  attempt: number;
  /** ISO 8601. */
  at: string;
  durationMs: number;
  outcome: AttemptOutcome;
  statusCode: number | null;
  error: string | null;
  providerMessageId: string | null;
  /** What an HTTP receiver answered (absent for other channels and for errors before an answer). */
  response?: ReceiverAnswer | null;
}

/** A delivery that ran out of attempts (or failed for good) in `run`: the dead letter to file. */
export interface DeadEvent extends Omit<DeadLetter, 'deadAt'> {
  type: 'dead';
  /** ISO 8601. */
  deadAt: string;
}

export interface CancelledEvent {
  type: 'cancelled';
  deliveryId: string;
  run: number;
  reason: string;
}

/**
 * A provider's report on a message it accepted (Twilio status callback). It travels through the same
 * stream as the attempt that recorded the provider's message id, so it is applied after it.
 */
export interface ProviderStatusEvent {
  type: 'provider-status';
  providerMessageId: string;
  update: ProviderStatusUpdate;
}

/**
 * What publishers and workers record in the catalog, batched by `applyEvents`. JSON-serialisable
 * (events travel through a Redis stream), so times are ISO strings.
 */
export type CatalogEvent =
  MessageEvent | DeliveriesEvent | AttemptEvent | DeadEvent | CancelledEvent | ProviderStatusEvent;
