import {
  resolveDeliveryPolicy,
  type DeliveryFormat,
  type DeliveryPolicyInput,
  type FilterPolicyScope,
  type Protocol,
  type Subscription,
  type Topic,
} from '@herald/core';
import type { SnsArns } from './arns';
import { parseSnsDeliveryPolicy, snsDeliveryPolicy, snsEffectiveDeliveryPolicy } from './sns-delivery-policy';
import { invalidParameter, SnsError } from './sns-error';

/** How SNS names a subscription's protocol, and how Herald holds one. */
export interface ProtocolMapping {
  protocol: Protocol;
  format: DeliveryFormat;
}

/** SNS protocols Herald does not deliver, and what to tell whoever asks for one. */
const UNSUPPORTED_PROTOCOLS: Record<string, string> = {
  sqs: 'Herald has no SQS queues: subscribe an http or https endpoint',
  firehose: 'Herald has no Firehose delivery streams',
  application: 'Herald has no mobile push platform applications',
};

/** Herald's protocol and format for an SNS protocol; `endpoint` must suit it (http:, https:, a Lambda ARN). */
export function heraldProtocolFor(snsProtocol: string, endpoint: string): ProtocolMapping {
  const reason = UNSUPPORTED_PROTOCOLS[snsProtocol];
  if (reason) throw invalidParameter('Protocol', `${snsProtocol} is not supported: ${reason}`);
  const scheme = (s: string) => endpoint.toLowerCase().startsWith(`${s}://`);
  switch (snsProtocol) {
    case 'http':
    case 'https':
      if (!scheme(snsProtocol))
        throw invalidParameter('Endpoint', `an ${snsProtocol} endpoint is an ${snsProtocol}:// URL`);
      return { protocol: 'webhook', format: 'sns' };
    case 'email':
      return { protocol: 'email', format: 'herald' };
    case 'email-json':
      return { protocol: 'email', format: 'sns' };
    case 'sms':
      return { protocol: 'sms', format: 'herald' };
    case 'lambda':
      if (!endpoint.startsWith('arn:'))
        throw invalidParameter('Endpoint', 'a lambda endpoint is a Lambda function ARN');
      return { protocol: 'function', format: 'sns' };
    default:
      throw invalidParameter(
        'Protocol',
        `${snsProtocol} is not one of http, https, email, email-json, sms, lambda`,
      );
  }
}

/** The SNS protocol of a Herald subscription (`function` for Herald's HTTP functions, which SNS has not). */
export function snsProtocolOf(sub: Pick<Subscription, 'protocol' | 'endpoint' | 'format'>): string {
  switch (sub.protocol) {
    case 'webhook':
      return sub.endpoint.toLowerCase().startsWith('https:') ? 'https' : 'http';
    case 'email':
      return sub.format === 'sns' ? 'email-json' : 'email';
    case 'sms':
      return 'sms';
    case 'function':
      return sub.endpoint.startsWith('arn:') ? 'lambda' : 'function';
  }
}

/** SNS's DisplayName limit (Herald's own is 256). */
const DISPLAY_NAME_MAX = 100;

/** Attributes Herald will not take, and why. */
const REFUSED_TOPIC_ATTRIBUTES: Record<string, string> = {
  Policy: 'Herald has no access policies: the API key’s scopes and topics decide',
  KmsMasterKeyId: 'Herald has no KMS; its catalog and Redis hold the messages',
  ContentBasedDeduplication: 'FIFO topics are not supported',
  FifoThroughputScope: 'FIFO topics are not supported',
  ArchivePolicy: 'FIFO topics are not supported',
  DataProtectionPolicy: 'Herald has no data protection policies',
};
const FEEDBACK =
  /^(Application|Firehose|HTTP|Lambda|SQS)(SuccessFeedbackRoleArn|SuccessFeedbackSampleRate|FailureFeedbackRoleArn)$/;

/** A topic attribute as a change to a Herald topic (`{}`: accepted, nothing to change). */
export function topicAttributePatch(
  name: string,
  value: string,
): { displayName?: string | null; deliveryPolicy?: DeliveryPolicyInput | null } {
  switch (name) {
    case 'DisplayName':
      if (value.length > DISPLAY_NAME_MAX)
        throw invalidParameter('DisplayName', `must be at most ${DISPLAY_NAME_MAX} characters`);
      return { displayName: value === '' ? null : value };
    case 'DeliveryPolicy':
      return { deliveryPolicy: value === '' ? null : parseSnsDeliveryPolicy(value, 'topic') };
    case 'SignatureVersion':
      if (value !== '2')
        throw invalidParameter('SignatureVersion', 'Herald signs with SignatureVersion 2 only');
      return {};
    case 'TracingConfig':
      if (value !== 'PassThrough') throw invalidParameter('TracingConfig', 'Herald has no active tracing');
      return {};
    case 'FifoTopic':
      if (value !== 'false') throw invalidParameter('FifoTopic', 'FIFO topics are not supported');
      return {};
  }
  const refused =
    REFUSED_TOPIC_ATTRIBUTES[name] ??
    (FEEDBACK.test(name) ? 'Herald has no delivery status logging' : undefined);
  throw invalidParameter(
    `Attributes`,
    refused ? `${name} is not supported: ${refused}` : `Unknown attribute ${name}`,
  );
}

/** A subscription attribute as a change to a Herald subscription. */
export interface SubscriptionPatchInput {
  filterPolicy?: Record<string, unknown> | null;
  filterPolicyScope?: FilterPolicyScope;
  rawDelivery?: boolean;
  deliveryPolicy?: DeliveryPolicyInput | null;
}

export function subscriptionAttributePatch(
  name: string,
  value: string,
  snsProtocol: string,
): SubscriptionPatchInput {
  switch (name) {
    case 'FilterPolicy': {
      if (value === '') return { filterPolicy: null };
      let policy: unknown;
      try {
        policy = JSON.parse(value);
      } catch {
        throw invalidParameter('FilterPolicy', 'failed to parse JSON');
      }
      if (typeof policy !== 'object' || policy === null || Array.isArray(policy))
        throw invalidParameter('FilterPolicy', 'the filter policy must be a JSON object');
      return { filterPolicy: policy as Record<string, unknown> };
    }
    case 'FilterPolicyScope':
      if (value === 'MessageAttributes') return { filterPolicyScope: 'attributes' };
      if (value === 'MessageBody') return { filterPolicyScope: 'body' };
      throw invalidParameter('FilterPolicyScope', 'must be MessageAttributes or MessageBody');
    case 'RawMessageDelivery': {
      const raw = /^true$/i.test(value) ? true : /^false$/i.test(value) ? false : null;
      if (raw === null) throw invalidParameter('RawMessageDelivery', 'must be true or false');
      if (raw && snsProtocol !== 'http' && snsProtocol !== 'https')
        throw invalidParameter(
          'RawMessageDelivery',
          `raw delivery is for http and https subscriptions, not ${snsProtocol}`,
        );
      return { rawDelivery: raw };
    }
    case 'DeliveryPolicy':
      return { deliveryPolicy: value === '' ? null : parseSnsDeliveryPolicy(value, 'subscription') };
    case 'RedrivePolicy':
      throw invalidParameter(
        'Attributes',
        'RedrivePolicy is not supported: Herald keeps undeliverable messages in its own dead letters (/v1/dead-letters)',
      );
    case 'SubscriptionRoleArn':
      throw invalidParameter(
        'Attributes',
        'SubscriptionRoleArn is not supported: Herald has no Firehose delivery',
      );
    case 'ReplayPolicy':
      throw invalidParameter('Attributes', 'ReplayPolicy is not supported: FIFO topics are not supported');
  }
  throw invalidParameter('Attributes', `Unknown attribute ${name}`);
}

/** Counts of a topic's subscriptions by Herald status. */
export type StatusCounts = Record<Subscription['status'], number>;

/** GetTopicAttributes' answer for a Herald topic. */
export function snsTopicAttributes(
  topic: Topic,
  counts: StatusCounts,
  arns: SnsArns,
): Array<[string, string]> {
  const policy = snsDeliveryPolicy(topic.deliveryPolicy, 'topic');
  return [
    ['TopicArn', arns.topic(topic.name)],
    ['Owner', arns.config.accountId],
    ['DisplayName', topic.displayName ?? ''],
    ['SubscriptionsConfirmed', String(counts.active + counts.paused + counts.disabled)],
    ['SubscriptionsPending', String(counts.pending)],
    ['SubscriptionsDeleted', String(counts.unsubscribed)],
    ...(policy ? ([['DeliveryPolicy', policy]] as Array<[string, string]>) : []),
    [
      'EffectiveDeliveryPolicy',
      snsEffectiveDeliveryPolicy(resolveDeliveryPolicy(topic.deliveryPolicy), 'topic'),
    ],
    ['SignatureVersion', '2'],
  ];
}

/** GetSubscriptionAttributes' answer for a Herald subscription (`topicPolicy`: its topic's delivery policy). */
export function snsSubscriptionAttributes(
  sub: Subscription,
  topicPolicy: DeliveryPolicyInput | null,
  arns: SnsArns,
): Array<[string, string]> {
  const policy = snsDeliveryPolicy(sub.deliveryPolicy, 'subscription');
  return [
    ['SubscriptionArn', arns.subscription(sub.topic, sub.id)],
    ['TopicArn', arns.topic(sub.topic)],
    ['Owner', arns.config.accountId],
    ['Protocol', snsProtocolOf(sub)],
    ['Endpoint', sub.endpoint],
    ['ConfirmationWasAuthenticated', 'true'],
    ['PendingConfirmation', String(sub.status === 'pending')],
    ['RawMessageDelivery', String(sub.rawDelivery)],
    ...(sub.filterPolicy
      ? ([
          ['FilterPolicy', JSON.stringify(sub.filterPolicy)],
          ['FilterPolicyScope', sub.filterPolicyScope === 'body' ? 'MessageBody' : 'MessageAttributes'],
        ] as Array<[string, string]>)
      : []),
    ...(policy ? ([['DeliveryPolicy', policy]] as Array<[string, string]>) : []),
    [
      'EffectiveDeliveryPolicy',
      snsEffectiveDeliveryPolicy(resolveDeliveryPolicy(sub.deliveryPolicy, topicPolicy), 'subscription'),
    ],
  ];
}

export const MAX_TAGS = 50;
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** Tags as SNS allows them: keys of 1–128 characters, not `aws:`, values up to 256, each key once. */
export function checkTags(tags: Array<[string, string]>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of tags) {
    if (key.length < 1 || key.length > 128 || !TAG_CHARS.test(key))
      throw invalidParameter(
        'Tags',
        `the tag key "${key}" must be 1 to 128 letters, digits, spaces or _.:/=+-@`,
      );
    if (key.toLowerCase().startsWith('aws:'))
      throw invalidParameter('Tags', 'tag keys starting with aws: are reserved');
    if (value.length > 256 || !TAG_CHARS.test(value))
      throw invalidParameter(
        'Tags',
        `the value of tag "${key}" must be up to 256 letters, digits, spaces or _.:/=+-@`,
      );
    if (out.has(key)) throw invalidParameter('Tags', `the tag key "${key}" is given more than once`);
    out.set(key, value);
  }
  if (out.size > MAX_TAGS) throw tagLimitExceeded();
  return out;
}

export const tagLimitExceeded = () =>
  new SnsError('TagLimitExceeded', 400, `Could not complete request: a topic has at most ${MAX_TAGS} tags`);
