import type {
  Attempt,
  Delivery,
  DeliveryFormat,
  DeliveryPolicyInput,
  DeliveryStatus,
  FilterPolicyScope,
  MessageAttributes,
  MessagePayload,
  Protocol,
  Scope,
  Subscription,
  SubscriptionStatus,
} from '@herald/core';
import type { MessageStatus } from './message-status';

/** A subscription as stored, with the token of its unsubscribe link (never show it in API answers). */
export interface SubscriptionRecord extends Subscription {
  unsubscribeToken: string;
  confirmationExpiresAt: Date | null;
  /** Why the last confirmation send failed (null once one reached the receiver), and when. */
  lastConfirmationError: string | null;
  lastConfirmationErrorAt: Date | null;
}

export interface CreateTopicInput {
  name: string;
  displayName?: string | null;
  description?: string | null;
  deliveryPolicy?: DeliveryPolicyInput | null;
}

/** Fields left undefined are kept; null clears. */
export interface TopicPatch {
  displayName?: string | null;
  description?: string | null;
  deliveryPolicy?: DeliveryPolicyInput | null;
}

export interface CreateSubscriptionInput {
  id: string;
  topic: string;
  protocol: Protocol;
  endpoint: string;
  status: SubscriptionStatus;
  filterPolicy?: Record<string, unknown> | null;
  filterPolicyScope?: FilterPolicyScope;
  rawDelivery?: boolean;
  deliveryPolicy?: DeliveryPolicyInput | null;
  metadata?: Record<string, unknown>;
  format?: DeliveryFormat;
  secret: string | null;
  /** sha256 of the confirmation token; the token itself is only ever in the link sent out. */
  confirmationTokenHash?: string | null;
  confirmationExpiresAt?: Date | null;
  unsubscribeToken: string;
  confirmedAt?: Date | null;
}

/** Fields left undefined are kept; null clears. */
export interface SubscriptionPatch {
  endpoint?: string;
  filterPolicy?: Record<string, unknown> | null;
  filterPolicyScope?: FilterPolicyScope;
  rawDelivery?: boolean;
  deliveryPolicy?: DeliveryPolicyInput | null;
  metadata?: Record<string, unknown>;
  format?: DeliveryFormat;
  status?: SubscriptionStatus;
}

export interface SubscriptionFilter {
  status?: SubscriptionStatus;
  protocol?: Protocol;
}

export type SubscriptionCounts = Record<SubscriptionStatus, number>;

export interface ApiKeyRecord {
  id: string;
  name: string;
  scopes: Scope[];
  /** Topic names the key is limited to; null for all topics. */
  topics: string[] | null;
  /** The SigV4 access key id of the key's AWS credentials (SNS API), if it has them. */
  accessKeyId: string | null;
  createdAt: Date;
}

/** A key's AWS credentials as stored: the secret access key sealed under HERALD_SECRET_KEY. */
export interface ApiKeyCredentials {
  key: ApiKeyRecord;
  sealedSecret: string;
}

/** A key that signs SNS-format messages, its private key sealed, its certificate public. */
export interface SnsSigningKeyRecord {
  id: string;
  sealedPrivateKey: string;
  certificate: string;
  createdAt: Date;
}

export interface CreateApiKeyInput {
  id: string;
  name: string;
  /** sha256 hex of the key; the key itself is never stored. */
  keyHash: string;
  scopes: Scope[];
  topics: string[] | null;
}

export interface MessageCounts {
  matched: number;
  filteredOut: number;
  delivered: number;
  /** Deliveries pending or retrying. */
  pending: number;
  /** Dead deliveries. */
  failed: number;
  cancelled: number;
}

export interface MessageRecord {
  id: string;
  topic: string;
  subject: string | null;
  /** As published (any JSON value), and the per-protocol bodies if it had them. */
  body: unknown;
  bodyByProtocol: Partial<Record<Protocol, unknown>>;
  attributes: MessageAttributes;
  publishedAt: Date;
  /** When the fan-out recorded its result; null until then. */
  fannedOutAt: Date | null;
  status: MessageStatus;
  counts: MessageCounts;
}

/**
 * A delivery with its position: `run` grows by one on each redrive (or resend); `lastAttempt` is the
 * number of its newest attempt, counted over every run as the attempt list and `x-herald-attempt` do.
 * (The catalog writer's DeliveryState counts within the run instead.)
 */
export interface DeliveryRecord extends Delivery {
  run: number;
  lastAttempt: number;
}

/** An attempt numbered 1..n over the delivery's whole history, with the run it belongs to. */
export interface AttemptRecord extends Attempt {
  run: number;
}

export interface DeliveryDetail extends DeliveryRecord {
  attempts: AttemptRecord[];
}

export interface DeliveryFilter {
  status?: DeliveryStatus;
}

/** An SMS provider's final word on a message it accepted (Twilio status callback). */
export interface ProviderStatusUpdate {
  status: 'delivered' | 'dead';
  /** Provider error code (e.g. Twilio 30003), kept as the delivery's last status code. */
  errorCode?: number | null;
  error?: string | null;
  /** Reason recorded on the dead letter when the update makes the delivery dead. */
  reason?: string;
}

export interface DeadLetter {
  id: string;
  deliveryId: string;
  run: number;
  messageId: string;
  subscriptionId: string;
  topic: string;
  protocol: Protocol;
  endpoint: string;
  /** Attempts made in the run that died. */
  attempts: number;
  reason: string;
  lastError: string | null;
  lastStatusCode: number | null;
  deadAt: Date;
}

/** A dead letter with what an operator needs to judge it: the message payload and every attempt. */
export interface DeadLetterDetail {
  entry: DeadLetter;
  /** Null only if the message row is missing (its fan-out result was never recorded). */
  message: MessagePayload | null;
  /** Every attempt of the delivery, numbered 1..n over all runs. */
  attempts: AttemptRecord[];
}

export interface DeadLetterFilter {
  topic?: string;
  subscriptionId?: string;
}

/**
 * A dead letter taken for redrive. `run` is the run that died; `newRun` is the run the delivery starts
 * now (a fresh attempt budget) and the one to put on the redriven job.
 */
export interface RedrivenDeadLetter extends DeadLetter {
  newRun: number;
}

/** What to take for redrive: given entries, or (up to `limit`, default 1000) those matching a filter. */
export type DeadLetterSelection = { ids: string[] } | (DeadLetterFilter & { limit?: number });
