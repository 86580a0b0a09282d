import type { DeadLetter, ProviderStatusUpdate } from './catalog-types';
import type {
  AttemptOutcome,
  DeliveryStatus,
  MessagePayload,
  Protocol,
  SubscriptionStatus,
} from '@herald/core';

/** The fan-out's result for a message: the payload is kept with the counts. */
export interface MessageEvent {
  type: 'message';
  message: MessagePayload;
  matched: number;
  filteredOut: number;
}

/** Deliveries created by the fan-out, all pending. */
export interface DeliveriesEvent {
  type: 'deliveries';
  messageId: string;
  topic: string;
  items: Array<{ id: string; subscriptionId: string; protocol: Protocol }>;
}

/**
 * One attempt of a delivery; `attempt` is 1-based within `run`. With messageId, subscriptionId, topic
 * and protocol given, a delivery row that is missing (its 'deliveries' event not applied yet, or lost)
 * is created from the attempt.
 */
export interface AttemptEvent {
  type: 'attempt';
  deliveryId: string;
  messageId?: string;
  subscriptionId?: string;
  topic?: string;
  protocol?: Protocol;
  run: number;
  attempt: number;
  /** ISO 8601. */
  at: string;
  durationMs: number;
  outcome: AttemptOutcome;
  statusCode: number | null;
  error: string | null;
  /** The delivery's status after this attempt. */
  status: DeliveryStatus;
  providerMessageId: string | null;
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

/** A subscription Herald changes on its own, e.g. 410 Gone → disabled, Twilio 21610 → unsubscribed. */
export interface SubscriptionStatusEvent {
  type: 'subscription-status';
  subscriptionId: string;
  status: SubscriptionStatus;
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
 * What workers record in the catalog, batched by `applyEvents`. JSON-serialisable (events travel
 * through a Redis stream), so times are ISO strings.
 */
export type CatalogEvent =
  | MessageEvent
  | DeliveriesEvent
  | AttemptEvent
  | DeadEvent
  | CancelledEvent
  | SubscriptionStatusEvent
  | ProviderStatusEvent;
