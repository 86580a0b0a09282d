import type {
  DeliveryFormat,
  DeliveryPolicyInput,
  DeliveryStatus,
  FilterPolicyScope,
  MessageAttributes,
  MessagePayload,
  Protocol,
  Scope,
  SubscriptionStatus,
  Topic,
} from '@herald/core';
import type {
  ApiKeyRecord,
  AttemptRecord,
  DeadLetter,
  DeliveryRecord,
  MessageCounts,
  MessageRecord,
  SubscriptionRecord,
} from './catalog-types';
import type { DeliveryState, StoredAttempt } from './delivery-state';
import type { MessageStatus } from './message-status';

/** Row shapes as both drivers return them: timestamptz as Date, jsonb parsed, int4 as number. */

export interface TopicRow {
  name: string;
  display_name: string | null;
  description: string | null;
  delivery_policy: DeliveryPolicyInput | null;
  created_at: Date;
  updated_at: Date;
}

export const TOPIC_COLUMNS = 'name, display_name, description, delivery_policy, created_at, updated_at';

export function toTopic(row: TopicRow): Topic {
  return {
    name: row.name,
    displayName: row.display_name,
    description: row.description,
    deliveryPolicy: row.delivery_policy,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface SubscriptionRow {
  id: string;
  topic: string;
  protocol: Protocol;
  endpoint: string;
  status: SubscriptionStatus;
  filter_policy: Record<string, unknown> | null;
  filter_policy_scope: FilterPolicyScope;
  raw_delivery: boolean;
  delivery_policy: DeliveryPolicyInput | null;
  metadata: Record<string, unknown>;
  format: DeliveryFormat;
  secret: string | null;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  confirmation_expires_at: Date | null;
  confirmation_error: string | null;
  confirmation_error_at: Date | null;
  unsubscribe_token: string;
  created_at: Date;
  updated_at: Date;
  confirmed_at: Date | null;
}

export const SUBSCRIPTION_COLUMNS =
  'id, topic, protocol, endpoint, status, filter_policy, filter_policy_scope, raw_delivery, delivery_policy, ' +
  'metadata, format, secret, previous_secret, previous_secret_expires_at, confirmation_expires_at, ' +
  'confirmation_error, confirmation_error_at, unsubscribe_token, created_at, updated_at, confirmed_at';

export function toSubscription(row: SubscriptionRow): SubscriptionRecord {
  return {
    id: row.id,
    topic: row.topic,
    protocol: row.protocol,
    endpoint: row.endpoint,
    status: row.status,
    filterPolicy: row.filter_policy,
    filterPolicyScope: row.filter_policy_scope,
    rawDelivery: row.raw_delivery,
    deliveryPolicy: row.delivery_policy,
    metadata: row.metadata,
    format: row.format,
    secret: row.secret,
    previousSecret: row.previous_secret,
    previousSecretExpiresAt: row.previous_secret_expires_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    confirmedAt: row.confirmed_at,
    unsubscribeToken: row.unsubscribe_token,
    confirmationExpiresAt: row.confirmation_expires_at,
    lastConfirmationError: row.confirmation_error,
    lastConfirmationErrorAt: row.confirmation_error_at,
  };
}

export interface ApiKeyRow {
  id: string;
  name: string;
  scopes: Scope[];
  topics: string[] | null;
  access_key_id: string | null;
  created_at: Date;
}

export const API_KEY_COLUMNS = 'id, name, scopes, topics, access_key_id, created_at';

export function toApiKey(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    topics: row.topics,
    accessKeyId: row.access_key_id,
    createdAt: row.created_at,
  };
}

export interface MessageRow {
  id: string;
  topic: string;
  subject: string | null;
  body: unknown;
  body_by_protocol: Partial<Record<Protocol, unknown>>;
  attributes: MessageAttributes;
  published_at: Date;
  fanned_out_at: Date | null;
}

export const MESSAGE_COLUMNS =
  'id, topic, subject, body, body_by_protocol, attributes, published_at, fanned_out_at';

export function toMessagePayload(row: MessageRow): MessagePayload {
  return {
    id: row.id,
    topic: row.topic,
    subject: row.subject,
    body: row.body,
    attributes: row.attributes,
    bodyByProtocol: row.body_by_protocol,
    publishedAt: row.published_at.toISOString(),
  };
}

export function toMessageRecord(
  row: MessageRow,
  counts: MessageCounts,
  status: MessageStatus,
): MessageRecord {
  return {
    id: row.id,
    topic: row.topic,
    subject: row.subject,
    body: row.body,
    bodyByProtocol: row.body_by_protocol,
    attributes: row.attributes,
    publishedAt: row.published_at,
    fannedOutAt: row.fanned_out_at,
    status,
    counts,
  };
}

export interface DeliveryRow {
  id: string;
  message_id: string;
  subscription_id: string;
  topic: string;
  protocol: Protocol;
  status: DeliveryStatus;
  attempt_count: number;
  run: number;
  last_attempt: number;
  last_error: string | null;
  last_status_code: number | null;
  provider_message_id: string | null;
  created_at: Date;
  updated_at: Date;
}

export const DELIVERY_COLUMNS =
  'id, message_id, subscription_id, topic, protocol, status, attempt_count, run, last_attempt, last_error, ' +
  'last_status_code, provider_message_id, created_at, updated_at';

export function toDelivery(row: DeliveryRow): DeliveryRecord {
  return {
    id: row.id,
    messageId: row.message_id,
    subscriptionId: row.subscription_id,
    topic: row.topic,
    protocol: row.protocol,
    status: row.status,
    attemptCount: row.attempt_count,
    run: row.run,
    // The newest attempt's number in the attempt list (1..n over every run): what receivers saw last.
    lastAttempt: row.attempt_count,
    lastError: row.last_error,
    lastStatusCode: row.last_status_code,
    providerMessageId: row.provider_message_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** What the batch writer reads of a delivery to fold new events into it. */
export type DeliveryStateRow = DeliveryRow & { attempts: StoredAttempt[] };

export const DELIVERY_STATE_COLUMNS = `${DELIVERY_COLUMNS}, attempts`;

export function toDeliveryState(row: DeliveryStateRow): DeliveryState {
  const { attemptCount: _count, createdAt: _created, updatedAt: _updated, ...state } = toDelivery(row);
  // The writer orders attempts by (run, attempt within the run).
  return { ...state, lastAttempt: row.last_attempt, attempts: row.attempts ?? [] };
}

/** A delivery's stored attempts numbered 1..n over its whole history (every run). */
export function toAttempts(attempts: readonly StoredAttempt[] | null | undefined): AttemptRecord[] {
  return (attempts ?? []).map((a, i) => ({
    number: i + 1,
    run: a.run,
    at: new Date(a.at),
    durationMs: a.durationMs,
    outcome: a.outcome,
    statusCode: a.statusCode,
    error: a.error,
    response: a.response ?? null,
  }));
}

export interface DeadLetterRow {
  id: string;
  delivery_id: string;
  run: number;
  message_id: string;
  subscription_id: string;
  topic: string;
  protocol: Protocol;
  endpoint: string;
  attempts: number;
  reason: string;
  last_error: string | null;
  last_status_code: number | null;
  dead_at: Date;
}

export const DEAD_LETTER_COLUMNS =
  'id, delivery_id, run, message_id, subscription_id, topic, protocol, endpoint, attempts, reason, last_error, ' +
  'last_status_code, dead_at';

export function toDeadLetter(row: DeadLetterRow): DeadLetter {
  return {
    id: row.id,
    deliveryId: row.delivery_id,
    run: row.run,
    messageId: row.message_id,
    subscriptionId: row.subscription_id,
    topic: row.topic,
    protocol: row.protocol,
    endpoint: row.endpoint,
    attempts: row.attempts,
    reason: row.reason,
    lastError: row.last_error,
    lastStatusCode: row.last_status_code,
    deadAt: row.dead_at,
  };
}
