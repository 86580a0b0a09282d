/** Domain types shared by every layer. No I/O here. */

export const PROTOCOLS = ['webhook', 'email', 'sms', 'function'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export const SUBSCRIPTION_STATUSES = ['pending', 'active', 'paused', 'disabled', 'unsubscribed'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

export const DELIVERY_STATUSES = ['pending', 'retrying', 'delivered', 'dead', 'cancelled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const SCOPES = ['admin', 'publish', 'subscribe', 'read'] as const;
export type Scope = (typeof SCOPES)[number];

export type FilterPolicyScope = 'attributes' | 'body';

/**
 * What HTTP, email and Lambda receivers get: Herald's own documents (Standard Webhooks signed) or SNS's
 * JSON documents, signed as SNS signs them, for receivers written for AWS SNS.
 */
export const DELIVERY_FORMATS = ['herald', 'sns'] as const;
export type DeliveryFormat = (typeof DELIVERY_FORMATS)[number];

/** A validation failure on one field of a request, as carried in problem+json `errors`. */
export interface FieldError {
  field: string;
  message: string;
}

export interface DeliveryPolicy {
  maxAttempts: number;
  minDelayMs: number;
  maxDelayMs: number;
  throttlePerSecond: number | null;
}

export type DeliveryPolicyInput = Partial<DeliveryPolicy>;

export interface Topic {
  name: string;
  displayName: string | null;
  description: string | null;
  deliveryPolicy: DeliveryPolicyInput | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface Subscription {
  id: string;
  topic: string;
  protocol: Protocol;
  endpoint: string;
  status: SubscriptionStatus;
  filterPolicy: Record<string, unknown> | null;
  filterPolicyScope: FilterPolicyScope;
  rawDelivery: boolean;
  deliveryPolicy: DeliveryPolicyInput | null;
  metadata: Record<string, unknown>;
  format: DeliveryFormat;
  /** `whsec_…` signing secret (webhook and function); null for email and SMS. */
  secret: string | null;
  /** The secret before the last rotation, still used beside `secret` until `previousSecretExpiresAt`. */
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
  /** Random token in the subscription's unsubscribe link (no auth). */
  unsubscribeToken: string;
  createdAt: Date;
  updatedAt: Date;
  confirmedAt: Date | null;
}

export type AttributeValue = string | number | boolean | string[] | number[];
export type MessageAttributes = Record<string, AttributeValue>;

/** What a publisher sent, stored once (in Redis) and read by every delivery of the message. */
export interface MessagePayload {
  id: string;
  topic: string;
  subject: string | null;
  body: unknown;
  attributes: MessageAttributes;
  bodyByProtocol: Partial<Record<Protocol, unknown>>;
  publishedAt: string;
}

export type AttemptOutcome = 'delivered' | 'retry' | 'failed';

/** What an HTTP receiver answered, as an attempt records it: a few headers and the start of the body. */
export interface ReceiverAnswer {
  statusCode: number;
  /** The RECEIVER_ANSWER_HEADERS (outcome.ts) it sent, lower-case. */
  headers: Record<string, string>;
  /** The first RECEIVER_ANSWER_BODY_BYTES of the body, as UTF-8. */
  body: string;
  /** The body went on beyond what is kept. */
  bodyTruncated: boolean;
}

export interface Attempt {
  number: number;
  at: Date;
  durationMs: number;
  outcome: AttemptOutcome;
  statusCode: number | null;
  error: string | null;
  /** What an HTTP receiver answered; null for other channels, or when no answer came. */
  response: ReceiverAnswer | null;
}

export interface Delivery {
  id: string;
  messageId: string;
  subscriptionId: string;
  topic: string;
  protocol: Protocol;
  status: DeliveryStatus;
  attemptCount: number;
  lastError: string | null;
  lastStatusCode: number | null;
  providerMessageId: string | null;
  createdAt: Date;
  updatedAt: Date;
}
