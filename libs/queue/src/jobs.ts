/** Job payloads: small references only; the message payload is stored once and read by id. */

export interface FanoutJob {
  messageId: string;
  topic: string;
  /** Checkpoint: the last subscription id already fanned out (large topics go page by page). */
  afterSubscriptionId?: string | null;
  matched?: number;
  filteredOut?: number;
}

export interface NotificationJob {
  kind: 'Notification';
  deliveryId: string;
  messageId: string;
  subscriptionId: string;
  /** Incremented by each redrive: a fresh attempt budget. */
  run: number;
  /** Attempts of this run made before this job existed (a first attempt made in a batch). */
  attemptsBefore?: number;
  /** Attempts of earlier runs, so that attempt numbers shown to receivers go on across redrives. */
  priorAttempts?: number;
}

/**
 * The first attempts of many deliveries, of one message or of several published together, made in one
 * job (see DeliveryService). Delivery ids follow from (message, subscription); only deliveries that
 * must try again (or wait for a throttle) become jobs of their own.
 */
export interface DeliveryBatchJob {
  kind: 'DeliveryBatch';
  items: Array<{ messageId: string; subscriptionIds: string[] }>;
}

export interface ConfirmationJob {
  kind: 'SubscriptionConfirmation';
  /** Id of this send (`webhook-id` of a webhook confirmation). */
  sendId: string;
  subscriptionId: string;
  token: string;
  /** Set for the UnsubscribeConfirmation an SNS-format subscription gets; absent for a confirmation. */
  snsType?: 'UnsubscribeConfirmation';
}

export type DeliveryJob = NotificationJob | DeliveryBatchJob | ConfirmationJob;

/** Attempts a confirmation gets before Herald gives up (the operator can resend it). */
export const CONFIRMATION_MAX_ATTEMPTS = 5;
