import type { NotificationRequest } from '@herald/channels';
import { deliveryIdFor, newId, type Subscription } from '@herald/core';
import { CatalogCache, ChannelRegistry } from '@herald/delivery';
import { Publisher, RateLimiter, type PublishInput } from '@herald/queue';
import {
  authorizationError,
  element,
  heraldAttributes,
  invalidParameter,
  memberList,
  notFound,
  parseMessageStructure,
  SnsError,
  type QueryParams,
  type Xml,
} from '@herald/sns';
import { Injectable } from '@nestjs/common';
import { parsePublish } from '../messages/message-input';
import { validationFailed } from '../problem/problem';
import { principalOf, snsErrorFrom, type SnsAction, type SnsCall } from './sns-call';
import { SnsTopicActions } from './sns-topic-actions';

const MAX_BATCH = 10;
const BATCH_ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;

/** Publish and PublishBatch: the same checks and Publisher as `POST /v1/topics/{name}/messages`. */
@Injectable()
export class SnsPublishActions {
  constructor(
    private readonly publisher: Publisher,
    private readonly topics: SnsTopicActions,
    private readonly channels: ChannelRegistry,
    private readonly limiter: RateLimiter,
    private readonly cache: CatalogCache,
  ) {}

  actions(): Record<string, SnsAction> {
    return {
      Publish: { scope: 'publish', run: (c) => this.publish(c) },
      PublishBatch: { scope: 'publish', run: (c) => this.publishBatch(c) },
    };
  }

  private async publish(call: SnsCall): Promise<Xml[]> {
    const { params } = call;
    const targets = ['TopicArn', 'TargetArn', 'PhoneNumber'].filter((k) => params.string(k));
    if (targets.length !== 1)
      throw invalidParameter(
        'TopicArn or TargetArn',
        'give exactly one of TopicArn, TargetArn and PhoneNumber',
      );
    const phone = params.string('PhoneNumber');
    const topic = phone === undefined ? this.topics.topicOf(call, targets[0]) : null;
    const input = messageInput(params);
    if (phone !== undefined) return [element('MessageId', await this.sendSms(call, phone, input))];
    await this.requireTopic(topic!);
    const { messageId } = await this.publisher.publish(topic!, input, null);
    return [element('MessageId', messageId)];
  }

  private async publishBatch(call: SnsCall): Promise<Xml[]> {
    const topic = this.topics.topicOf(call);
    const entries = call.params.list('PublishBatchRequestEntries');
    if (entries.length === 0)
      throw new SnsError('EmptyBatchRequest', 400, "The batch request doesn't contain any entries.");
    if (entries.length > MAX_BATCH)
      throw new SnsError(
        'TooManyEntriesInBatchRequest',
        400,
        `The batch request contains more entries than permissible (${MAX_BATCH}).`,
      );
    const ids = entries.map((e) => e.string('Id') ?? '');
    const badId = ids.find((id) => !BATCH_ENTRY_ID.test(id));
    if (badId !== undefined)
      throw new SnsError(
        'InvalidBatchEntryId',
        400,
        `The Id "${badId}" is not 1 to 80 letters, digits, - or _.`,
      );
    if (new Set(ids).size !== ids.length)
      throw new SnsError(
        'BatchEntryIdsNotDistinct',
        400,
        'Two or more batch entries in the request have the same Id.',
      );
    await this.requireTopic(topic);
    const successful: Xml[][] = [];
    const failed: Xml[][] = [];
    for (const [i, entry] of entries.entries()) {
      try {
        const { messageId } = await this.publisher.publish(topic, messageInput(entry), null);
        successful.push([element('Id', ids[i]), element('MessageId', messageId)]);
      } catch (err) {
        if (!(err instanceof SnsError)) throw err;
        failed.push([
          element('Id', ids[i]),
          element('Code', err.code),
          element('Message', err.message),
          element('SenderFault', true),
        ]);
      }
    }
    return [memberList('Successful', successful), memberList('Failed', failed)];
  }

  private async requireTopic(name: string): Promise<void> {
    // From the cache, as /v1 does: a publish costs no catalog read, and known topics survive an outage.
    if (!(await this.cache.topic(name))) throw notFound('Topic does not exist');
  }

  /**
   * A direct SMS: sent at once through the SMS channel, one attempt, no delivery record (there is no
   * topic or subscription to keep it under). A key limited to topics may not send one.
   */
  private async sendSms(call: SnsCall, number: string, input: PublishInput): Promise<string> {
    const principal = principalOf(call);
    if (principal.topics !== null)
      throw authorizationError(
        `User: ${principal.keyId} is limited to topics and may not publish to a phone number`,
      );
    const adapter = this.channels.adapter('sms');
    const availability = adapter.availability();
    if (!availability.available) throw invalidParameter('PhoneNumber', availability.reason);
    const endpoint = adapter.checkEndpoint(number);
    if (!endpoint.ok) throw invalidParameter('PhoneNumber', endpoint.message);
    const messageId = newId('msg');
    const subscription = directSmsSubscription(endpoint.endpoint);
    const request: NotificationRequest = {
      kind: 'Notification',
      deliveryId: deliveryIdFor(messageId, subscription.id),
      attempt: 1,
      subscription,
      topic: { name: '', displayName: null },
      unsubscribeUrl: '',
      // SNS does not put a subject into a text message.
      message: { id: messageId, topic: '', ...input, subject: null, publishedAt: new Date().toISOString() },
    };
    const throttle = adapter.senderThrottle?.(request);
    if (throttle && (await this.limiter.take(throttle.key, throttle.perSecond)) > 0)
      throw new SnsError(
        'Throttled',
        429,
        'Rate exceeded: the SMS sender takes TWILIO_MESSAGES_PER_SECOND; try again',
      );
    const outcome = await adapter.send(request);
    if (outcome.result === 'delivered') return messageId;
    if (outcome.result === 'failed') throw invalidParameter('PhoneNumber', outcome.error);
    throw new SnsError('InternalError', 500, `The text message could not be sent now: ${outcome.error}`);
  }
}

/** FIFO parameters of a message, which standard topics refuse. */
const FIFO_PARAMETERS = ['MessageGroupId', 'MessageDeduplicationId'];

/**
 * The publish input of a Publish (or one batch entry), checked by the very parsePublish that checks a
 * /v1 publish, so subjects, attributes and sizes obey one set of rules.
 */
function messageInput(params: QueryParams): PublishInput {
  for (const name of FIFO_PARAMETERS)
    if (params.string(name) !== undefined) throw invalidParameter(name, 'FIFO topics are not supported');
  const message = params.string('Message');
  if (!message) throw invalidParameter('Message', 'Empty message');
  const structure = params.string('MessageStructure');
  if (structure !== undefined && structure !== 'json')
    throw invalidParameter('MessageStructure', 'the only message structure is json');
  const { body, bodyByProtocol } =
    structure === 'json' ? parseMessageStructure(message) : { body: message, bodyByProtocol: {} };
  const subject = params.string('Subject');
  const raw = {
    body,
    ...(subject ? { subject } : {}),
    attributes: heraldAttributes(params.map('MessageAttributes', 'Name', 'Value')),
    bodyByProtocol,
  };
  const parsed = parsePublish(raw);
  if (!parsed.ok) throw snsErrorFrom(validationFailed(parsed.errors));
  return parsed.value.input;
}

/** A stand-in subscription for a direct SMS, which belongs to no topic. */
function directSmsSubscription(endpoint: string): Subscription {
  const now = new Date();
  return {
    id: newId('sub'),
    topic: '',
    protocol: 'sms',
    endpoint,
    status: 'active',
    filterPolicy: null,
    filterPolicyScope: 'attributes',
    rawDelivery: false,
    deliveryPolicy: null,
    metadata: {},
    format: 'herald',
    secret: null,
    previousSecret: null,
    previousSecretExpiresAt: null,
    unsubscribeToken: '',
    createdAt: now,
    updatedAt: now,
    confirmedAt: now,
  };
}
