import { MESSAGE_STATUSES } from '@herald/catalog';
import {
  DELIVERY_STATUSES,
  PROTOCOLS,
  RECEIVER_ANSWER_BODY_BYTES,
  RECEIVER_ANSWER_HEADERS,
  SCOPES,
  SUBSCRIPTION_STATUSES,
} from '@herald/core';
import { ApiProperty, ApiPropertyOptional, getSchemaPath, type ApiPropertyOptions } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

/**
 * The shapes of Herald's answers, for the OpenAPI document only: the end-to-end tests validate real
 * answers against them, so a field added to an answer and not here (or the other way round) fails.
 */

/** Any JSON value, null included (OpenAPI 3.0 has no `null` type: the nullable object stands for it). */
export const ANY_JSON = {
  anyOf: [
    { type: 'string' },
    { type: 'number' },
    { type: 'boolean' },
    { type: 'array', items: {} },
    { type: 'object', nullable: true },
  ],
} satisfies SchemaObject;
const JSON_OBJECT = { type: 'object', additionalProperties: true } as const;
const TIME = { type: String, format: 'date-time' } as const;
const EXAMPLE_TIME = '2025-01-01T12:00:00.000Z';

export class FieldErrorSchema {
  @ApiProperty({ example: 'endpoint' }) field!: string;
  @ApiProperty({ example: 'must be an https URL' }) message!: string;
}

/** RFC 9457 problem details: every error answer. */
export class ProblemSchema {
  @ApiProperty({ example: 'https://herald.dev/problems/invalid-request' }) type!: string;
  @ApiProperty({ example: 'Invalid request' }) title!: string;
  @ApiProperty({ type: 'integer', example: 400 }) status!: number;
  @ApiProperty({ example: 'endpoint must be an https URL' }) detail!: string;
  @ApiPropertyOptional({ type: [FieldErrorSchema], description: 'one entry per invalid field' })
  errors?: FieldErrorSchema[];
}

export class TopicSchema {
  @ApiProperty({ pattern: '^[A-Za-z0-9_-]{1,256}$' }) name!: string;
  @ApiProperty({
    description: 'the topic as the SNS API names it',
    example: 'arn:aws:sns:us-east-1:000000000000:orders',
  })
  arn!: string;
  @ApiProperty({ type: String, nullable: true }) displayName!: string | null;
  @ApiProperty({ type: String, nullable: true }) description!: string | null;
  @ApiProperty({ ...JSON_OBJECT, nullable: true }) deliveryPolicy!: Record<string, unknown> | null;
  @ApiProperty(TIME) createdAt!: string;
  @ApiProperty(TIME) updatedAt!: string;
}
export const TOPIC_EXAMPLE = {
  name: 'orders',
  arn: 'arn:aws:sns:us-east-1:000000000000:orders',
  displayName: 'Orders',
  description: null,
  deliveryPolicy: null,
  createdAt: EXAMPLE_TIME,
  updatedAt: EXAMPLE_TIME,
};

export class SubscriptionCountsSchema {
  @ApiProperty({ type: 'integer' }) pending!: number;
  @ApiProperty({ type: 'integer' }) active!: number;
  @ApiProperty({ type: 'integer' }) paused!: number;
  @ApiProperty({ type: 'integer' }) disabled!: number;
  @ApiProperty({ type: 'integer' }) unsubscribed!: number;
}

export class TopicDetailSchema extends TopicSchema {
  @ApiProperty({ type: SubscriptionCountsSchema }) subscriptionCounts!: SubscriptionCountsSchema;
}
export const TOPIC_DETAIL_EXAMPLE = {
  ...TOPIC_EXAMPLE,
  subscriptionCounts: { pending: 0, active: 2, paused: 0, disabled: 0, unsubscribed: 1 },
};

export class SubscriptionSchema {
  @ApiProperty({ example: 'sub_01JH3Z8V9K2M4N6P8Q0R2S4T6V' }) id!: string;
  @ApiProperty({ description: 'the subscription as the SNS API names it' }) arn!: string;
  @ApiProperty() topic!: string;
  @ApiProperty({ enum: PROTOCOLS }) protocol!: string;
  @ApiProperty() endpoint!: string;
  @ApiProperty({ enum: SUBSCRIPTION_STATUSES }) status!: string;
  @ApiProperty({ ...JSON_OBJECT, nullable: true }) filterPolicy!: Record<string, unknown> | null;
  @ApiProperty({ enum: ['attributes', 'body'] }) filterPolicyScope!: string;
  @ApiProperty() rawDelivery!: boolean;
  @ApiProperty({
    enum: ['herald', 'sns'],
    description: "what receivers get: Standard Webhooks (herald) or SNS's documents",
  })
  format!: string;
  @ApiProperty({ ...JSON_OBJECT, nullable: true }) deliveryPolicy!: Record<string, unknown> | null;
  @ApiProperty(JSON_OBJECT) metadata!: Record<string, unknown>;
  @ApiProperty(TIME) createdAt!: string;
  @ApiProperty(TIME) updatedAt!: string;
  @ApiProperty({ ...TIME, nullable: true }) confirmedAt!: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'why the last confirmation send failed; null once one reached the receiver',
  })
  lastConfirmationError!: string | null;
  @ApiProperty({ ...TIME, nullable: true }) lastConfirmationErrorAt!: string | null;
}
export const SUBSCRIPTION_EXAMPLE = {
  id: 'sub_01JH3Z8V9K2M4N6P8Q0R2S4T6V',
  arn: 'arn:aws:sns:us-east-1:000000000000:orders:sub_01JH3Z8V9K2M4N6P8Q0R2S4T6V',
  topic: 'orders',
  protocol: 'webhook',
  endpoint: 'https://example.com/hooks/orders',
  status: 'active',
  filterPolicy: { store: ['berlin'] },
  filterPolicyScope: 'attributes',
  rawDelivery: false,
  format: 'herald',
  deliveryPolicy: null,
  metadata: {},
  createdAt: EXAMPLE_TIME,
  updatedAt: EXAMPLE_TIME,
  confirmedAt: EXAMPLE_TIME,
  lastConfirmationError: null,
  lastConfirmationErrorAt: null,
};

/** The answer of a confirmation link followed with Accept: application/json. */
export class ConfirmedSubscriptionSchema extends SubscriptionSchema {
  @ApiProperty({ description: 'true when this link had confirmed the subscription before: nothing changed' })
  alreadyConfirmed!: boolean;
}

export class CreatedSubscriptionSchema extends SubscriptionSchema {
  @ApiPropertyOptional({ description: 'webhook and function subscriptions, in the 201 answer only' })
  secret?: string;
}
export const CREATED_SUBSCRIPTION_EXAMPLE = {
  ...SUBSCRIPTION_EXAMPLE,
  status: 'pending',
  confirmedAt: null,
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
};

export class ApiKeySchema {
  @ApiProperty({ example: 'key_01JH3Z8V9K2M4N6P8Q0R2S4T6V' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: SCOPES, isArray: true }) scopes!: string[];
  @ApiProperty({ type: [String], nullable: true, description: 'null: every topic' }) topics!: string[] | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'SigV4 access key id for the SNS API, if issued',
  })
  accessKeyId!: string | null;
  @ApiProperty(TIME) createdAt!: string;
}
export const API_KEY_EXAMPLE = {
  id: 'key_01JH3Z8V9K2M4N6P8Q0R2S4T6V',
  name: 'checkout',
  scopes: ['publish'],
  topics: ['orders'],
  accessKeyId: null,
  createdAt: EXAMPLE_TIME,
};

export class CreatedApiKeySchema extends ApiKeySchema {
  @ApiProperty({ description: 'the key itself, shown only in this answer' }) key!: string;
  @ApiPropertyOptional({ description: 'with awsCredentials: the SigV4 secret, shown only in this answer' })
  secretAccessKey?: string;
}

/** What GET /v1/api-keys/current says of the calling key. */
export class CurrentApiKeySchema {
  @ApiProperty({ example: 'key_01JH3Z8V9K2M4N6P8Q0R2S4T6V' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: SCOPES, isArray: true }) scopes!: string[];
  @ApiProperty({ type: [String], nullable: true, description: 'null: every topic' }) topics!: string[] | null;
}

export class PublishResultSchema {
  @ApiProperty({ example: 'msg_01JH3Z8V9K2M4N6P8Q0R2S4T6V' }) messageId!: string;
  @ApiProperty() duplicate!: boolean;
}
export const PUBLISH_EXAMPLE = { messageId: 'msg_01JH3Z8V9K2M4N6P8Q0R2S4T6V', duplicate: false };

export class BatchErrorSchema {
  @ApiProperty({ type: ProblemSchema }) error!: ProblemSchema;
}

export class DryRunSchema {
  @ApiProperty({ type: [String] }) matched!: string[];
  @ApiProperty({ type: [String] }) filteredOut!: string[];
}

export class MessageCountsSchema {
  @ApiProperty({ type: 'integer' }) matched!: number;
  @ApiProperty({ type: 'integer' }) filteredOut!: number;
  @ApiProperty({ type: 'integer' }) delivered!: number;
  @ApiProperty({ type: 'integer' }) pending!: number;
  @ApiProperty({ type: 'integer' }) failed!: number;
  @ApiProperty({ type: 'integer' }) cancelled!: number;
}

/** A message in a topic's list: everything but its bodies. */
export class MessageSummarySchema {
  @ApiProperty() id!: string;
  @ApiProperty() topic!: string;
  @ApiProperty({ type: String, nullable: true }) subject!: string | null;
  @ApiProperty(JSON_OBJECT) attributes!: Record<string, unknown>;
  @ApiProperty(TIME) publishedAt!: string;
  @ApiProperty({ ...TIME, nullable: true, description: 'null until the fan-out ran' })
  fannedOutAt!: string | null;
  @ApiProperty({
    enum: MESSAGE_STATUSES,
    description:
      'accepted: not fanned out yet; no_subscribers: no active subscription matched it, nobody receives it; ' +
      'delivering; delivered; failed: at least one delivery is dead',
  })
  status!: string;
  @ApiProperty({ type: MessageCountsSchema }) counts!: MessageCountsSchema;
}
export const MESSAGE_SUMMARY_EXAMPLE = {
  id: 'msg_01JH3Z8V9K2M4N6P8Q0R2S4T6V',
  topic: 'orders',
  subject: 'Order placed',
  attributes: { store: 'berlin' },
  publishedAt: EXAMPLE_TIME,
  fannedOutAt: EXAMPLE_TIME,
  status: 'delivered',
  counts: { matched: 1, filteredOut: 2, delivered: 1, pending: 0, failed: 0, cancelled: 0 },
};

export class MessageSchema extends MessageSummarySchema {
  @ApiProperty({ anyOf: ANY_JSON.anyOf, description: 'as published' }) body!: unknown;
  @ApiProperty({ ...JSON_OBJECT, description: 'the per-protocol bodies, if it was published with them' })
  bodyByProtocol!: Record<string, unknown>;
}
export const MESSAGE_EXAMPLE = { ...MESSAGE_SUMMARY_EXAMPLE, body: { orderId: 1234 }, bodyByProtocol: {} };

/**
 * What an HTTP receiver answered, or null. Inline rather than a $ref: OpenAPI 3.0 ignores `nullable`
 * beside a $ref.
 */
const RECEIVER_ANSWER = {
  type: 'object' as const,
  nullable: true,
  required: ['statusCode', 'headers', 'body', 'bodyTruncated'],
  properties: {
    statusCode: { type: 'integer', example: 503 },
    headers: {
      type: 'object',
      additionalProperties: { type: 'string' },
      description: `the response headers among ${RECEIVER_ANSWER_HEADERS.join(', ')}`,
    },
    body: {
      type: 'string',
      description: `the first ${RECEIVER_ANSWER_BODY_BYTES} bytes of the body, as UTF-8`,
    },
    bodyTruncated: { type: 'boolean', description: 'the body went on beyond what is kept' },
  },
} satisfies ApiPropertyOptions;

export class AttemptSchema {
  @ApiProperty({ type: 'integer', description: '1..n over every run of the delivery' }) number!: number;
  @ApiProperty({ type: 'integer', description: 'grows by one on each redrive' }) run!: number;
  @ApiProperty(TIME) at!: string;
  @ApiProperty({ type: 'integer' }) durationMs!: number;
  @ApiProperty({ enum: ['delivered', 'retry', 'failed'] }) outcome!: string;
  @ApiProperty({ type: 'integer', nullable: true }) statusCode!: number | null;
  @ApiProperty({ type: String, nullable: true }) error!: string | null;
  @ApiProperty({
    ...RECEIVER_ANSWER,
    description: 'what an HTTP receiver answered; null for email and SMS, or when no answer came',
  })
  response!: Record<string, unknown> | null;
}
const ATTEMPT_EXAMPLE = {
  number: 1,
  run: 1,
  at: EXAMPLE_TIME,
  durationMs: 42,
  outcome: 'delivered',
  statusCode: 200,
  error: null,
  response: {
    statusCode: 200,
    headers: { 'content-type': 'application/json', 'x-request-id': 'req_8f2c' },
    body: '{"ok":true}',
    bodyTruncated: false,
  },
};

export class DeliverySchema {
  @ApiProperty() id!: string;
  @ApiProperty() messageId!: string;
  @ApiProperty() subscriptionId!: string;
  @ApiProperty() topic!: string;
  @ApiProperty({ enum: PROTOCOLS }) protocol!: string;
  @ApiProperty({ enum: DELIVERY_STATUSES }) status!: string;
  @ApiProperty({ type: 'integer' }) attemptCount!: number;
  @ApiProperty({ type: 'integer' }) run!: number;
  @ApiProperty({ type: 'integer' }) lastAttempt!: number;
  @ApiProperty({ type: String, nullable: true }) lastError!: string | null;
  @ApiProperty({ type: 'integer', nullable: true }) lastStatusCode!: number | null;
  @ApiProperty({ type: String, nullable: true }) providerMessageId!: string | null;
  @ApiProperty(TIME) createdAt!: string;
  @ApiProperty(TIME) updatedAt!: string;
}
export const DELIVERY_EXAMPLE = {
  id: 'dlv_01JH3Z8V9K2M4N6P8Q0R2S4T6V01JH3Z8V9K2M4N6P8Q0R2S4T6W',
  messageId: 'msg_01JH3Z8V9K2M4N6P8Q0R2S4T6V',
  subscriptionId: 'sub_01JH3Z8V9K2M4N6P8Q0R2S4T6W',
  topic: 'orders',
  protocol: 'webhook',
  status: 'delivered',
  attemptCount: 1,
  run: 1,
  lastAttempt: 1,
  lastError: null,
  lastStatusCode: 200,
  providerMessageId: null,
  createdAt: EXAMPLE_TIME,
  updatedAt: EXAMPLE_TIME,
};

export class DeliveryDetailSchema extends DeliverySchema {
  @ApiProperty({ type: [AttemptSchema] }) attempts!: AttemptSchema[];
}
export const DELIVERY_DETAIL_EXAMPLE = { ...DELIVERY_EXAMPLE, attempts: [ATTEMPT_EXAMPLE] };

class DeadLetterFields {
  @ApiProperty() id!: string;
  @ApiProperty() deliveryId!: string;
  @ApiProperty({ type: 'integer' }) run!: number;
  @ApiProperty() messageId!: string;
  @ApiProperty() subscriptionId!: string;
  @ApiProperty() topic!: string;
  @ApiProperty({ enum: PROTOCOLS }) protocol!: string;
  @ApiProperty() endpoint!: string;
  @ApiProperty() reason!: string;
  @ApiProperty({ type: String, nullable: true }) lastError!: string | null;
  @ApiProperty({ type: 'integer', nullable: true }) lastStatusCode!: number | null;
  @ApiProperty(TIME) deadAt!: string;
}

export class DeadLetterSchema extends DeadLetterFields {
  @ApiProperty({ type: 'integer', description: 'attempts made in the run that died' }) attempts!: number;
}
export const DEAD_LETTER_EXAMPLE = {
  id: 'dlq_01JH3Z8V9K2M4N6P8Q0R2S4T6V',
  deliveryId: DELIVERY_EXAMPLE.id,
  run: 1,
  messageId: DELIVERY_EXAMPLE.messageId,
  subscriptionId: DELIVERY_EXAMPLE.subscriptionId,
  topic: 'orders',
  protocol: 'webhook',
  endpoint: 'https://example.com/hooks/orders',
  attempts: 15,
  reason: 'retries exhausted',
  lastError: 'receiver answered 503',
  lastStatusCode: 503,
  deadAt: EXAMPLE_TIME,
};

export class MessagePayloadSchema {
  @ApiProperty() id!: string;
  @ApiProperty() topic!: string;
  @ApiProperty({ type: String, nullable: true }) subject!: string | null;
  @ApiProperty({ anyOf: ANY_JSON.anyOf, description: 'as published' }) body!: unknown;
  @ApiProperty(JSON_OBJECT) attributes!: Record<string, unknown>;
  @ApiProperty(JSON_OBJECT) bodyByProtocol!: Record<string, unknown>;
  @ApiProperty(TIME) publishedAt!: string;
}

export class DeadLetterDetailSchema extends DeadLetterFields {
  @ApiProperty({ type: MessagePayloadSchema, nullable: true }) message!: MessagePayloadSchema | null;
  @ApiProperty({ type: [AttemptSchema], description: 'every attempt of the delivery' })
  attempts!: AttemptSchema[];
}
export const DEAD_LETTER_DETAIL_EXAMPLE = {
  ...DEAD_LETTER_EXAMPLE,
  message: {
    id: DELIVERY_EXAMPLE.messageId,
    topic: 'orders',
    subject: null,
    body: { orderId: 1234 },
    attributes: {},
    bodyByProtocol: {},
    publishedAt: EXAMPLE_TIME,
  },
  attempts: [
    {
      ...ATTEMPT_EXAMPLE,
      outcome: 'failed',
      statusCode: 503,
      error: 'receiver answered 503',
      response: { statusCode: 503, headers: { 'retry-after': '30' }, body: '', bodyTruncated: false },
    },
  ],
};

export class ResentSchema {
  @ApiProperty({
    type: 'integer',
    description: 'deliveries started again; those still pending or retrying are under way already',
  })
  resent!: number;
}

export class TestNotificationSchema {
  @ApiProperty({ description: 'the webhook-id of the test notification; it is stored nowhere' })
  messageId!: string;
  @ApiProperty({ enum: ['delivered', 'failed'], description: 'one attempt, never retried' }) outcome!: string;
  @ApiProperty({ type: 'integer', nullable: true }) statusCode!: number | null;
  @ApiProperty({ type: String, nullable: true }) error!: string | null;
  @ApiProperty({ type: 'integer' }) durationMs!: number;
  @ApiProperty({ ...RECEIVER_ANSWER, description: 'what the receiver answered; null when no answer came' })
  response!: Record<string, unknown> | null;
}
export const TEST_NOTIFICATION_EXAMPLE = {
  messageId: 'msg_01JH3Z8V9K2M4N6P8Q0R2S4T6V',
  outcome: 'delivered',
  statusCode: 200,
  error: null,
  durationMs: 38,
  response: { statusCode: 200, headers: { 'content-type': 'text/plain' }, body: 'ok', bodyTruncated: false },
};

export class RedrivenSchema {
  @ApiProperty({ type: 'integer' }) redriven!: number;
}

export class SecretSchema {
  @ApiProperty({ example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }) secret!: string;
}

export class ConfirmationSentSchema {
  @ApiProperty({ enum: ['pending'] }) status!: string;
}

export class UnsubscribedSchema {
  @ApiProperty() id!: string;
  @ApiProperty({ enum: ['unsubscribed'] }) status!: string;
}

export class ReceivedSchema {
  @ApiProperty({ enum: [true] }) received!: boolean;
}

export class HealthSchema {
  @ApiProperty({ enum: ['ok'] }) status!: string;
}

export class ReadinessChecksSchema {
  @ApiProperty({ description: '"ok" or what went wrong' }) redis!: string;
  @ApiProperty({ description: '"ok" or what went wrong' }) catalog!: string;
}

export class ReadinessSchema {
  @ApiProperty({ enum: ['ready', 'not ready'] }) status!: string;
  @ApiProperty({ type: ReadinessChecksSchema }) checks!: ReadinessChecksSchema;
}

/** A batch answers each entry in order: its publish result, or its own problem. */
export const BATCH_RESULT_SCHEMA = {
  type: 'object',
  required: ['results'],
  properties: {
    results: {
      type: 'array',
      items: {
        anyOf: [{ $ref: getSchemaPath(PublishResultSchema) }, { $ref: getSchemaPath(BatchErrorSchema) }],
      },
    },
  },
} satisfies SchemaObject;
export const BATCH_RESULT_MODELS = [PublishResultSchema, BatchErrorSchema];

/** A new SNS signing key (POST /v1/sns/signing-keys). */
export class SigningKeySchema {
  @ApiProperty({ example: '88897155e399cf8774930697adcee001' }) id!: string;
  @ApiProperty({ description: 'where receivers fetch its certificate' }) signingCertUrl!: string;
  @ApiProperty(TIME) createdAt!: string;
}
export const SIGNING_KEY_EXAMPLE = {
  id: '88897155e399cf8774930697adcee001',
  signingCertUrl:
    'https://herald.example.com/sns/SimpleNotificationService-88897155e399cf8774930697adcee001.pem',
  createdAt: EXAMPLE_TIME,
};
