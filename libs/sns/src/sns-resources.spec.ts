import type { Subscription, Topic } from '@herald/core';
import { describe, expect, it } from 'vitest';
import { SnsArns } from './arns';
import { refusal } from './sns-test-support';
import {
  checkTags,
  heraldProtocolFor,
  snsProtocolOf,
  snsSubscriptionAttributes,
  snsTopicAttributes,
  subscriptionAttributePatch,
  topicAttributePatch,
} from './sns-resources';

const arns = new SnsArns({ region: 'us-east-1', accountId: '000000000000' });

describe('SNS protocols', () => {
  it.each<[string, string, ReturnType<typeof heraldProtocolFor>]>([
    ['http', 'http://example.com/h', { protocol: 'webhook', format: 'sns' }],
    ['https', 'HTTPS://example.com/h', { protocol: 'webhook', format: 'sns' }],
    ['email', 'a@example.com', { protocol: 'email', format: 'herald' }],
    ['email-json', 'a@example.com', { protocol: 'email', format: 'sns' }],
    ['sms', '+14155550100', { protocol: 'sms', format: 'herald' }],
    ['lambda', 'arn:aws:lambda:us-east-1:123456789012:function:f', { protocol: 'function', format: 'sns' }],
  ])('maps %s', (sns, endpoint, expected) => {
    expect(heraldProtocolFor(sns, endpoint)).toEqual(expected);
    expect(snsProtocolOf({ ...expected, endpoint })).toBe(sns);
  });

  it.each<[string, string, RegExp]>([
    ['sqs', 'arn:aws:sqs:us-east-1:000000000000:q', /Protocol Reason: sqs is not supported/],
    ['firehose', 'arn:x', /firehose is not supported/],
    ['application', 'arn:x', /application is not supported/],
    ['ftp', 'ftp://x', /ftp is not one of/],
    ['https', 'http://example.com', /Endpoint Reason: an https endpoint is an https:\/\/ URL/],
    ['http', 'https://example.com', /an http endpoint/],
    ['lambda', 'https://example.com/fn', /Lambda function ARN/],
  ])('refuses %s to %s', (sns, endpoint, message) => {
    expect(refusal(() => heraldProtocolFor(sns, endpoint)).message).toMatch(message);
  });

  it('names Herald’s HTTP functions, which SNS has not, function', () => {
    expect(
      snsProtocolOf({ protocol: 'function', endpoint: 'https://fn.example.com', format: 'herald' }),
    ).toBe('function');
  });
});

describe('SNS attributes', () => {
  it.each<[string, string, ReturnType<typeof topicAttributePatch>]>([
    ['DisplayName', 'Orders', { displayName: 'Orders' }],
    ['DisplayName', '', { displayName: null }],
    [
      'DeliveryPolicy',
      '{"http":{"defaultThrottlePolicy":{"maxReceivesPerSecond":2}}}',
      { deliveryPolicy: { throttlePerSecond: 2 } },
    ],
    ['DeliveryPolicy', '', { deliveryPolicy: null }],
    ['SignatureVersion', '2', {}],
    ['TracingConfig', 'PassThrough', {}],
    ['FifoTopic', 'false', {}],
  ])('takes topic attribute %s=%j', (name, value, patch) => {
    expect(topicAttributePatch(name, value)).toEqual(patch);
  });

  it.each<[string, string, RegExp]>([
    ['DisplayName', 'x'.repeat(101), /at most 100/],
    ['SignatureVersion', '1', /SignatureVersion 2 only/],
    ['TracingConfig', 'Active', /tracing/],
    ['FifoTopic', 'true', /FIFO/],
    ['Policy', '{}', /Policy is not supported: Herald has no access policies/],
    ['KmsMasterKeyId', 'alias/aws/sns', /KmsMasterKeyId is not supported/],
    ['ContentBasedDeduplication', 'true', /FIFO/],
    ['HTTPSuccessFeedbackRoleArn', 'arn:x', /delivery status logging/],
    ['Colour', 'red', /Unknown attribute Colour/],
  ])('refuses topic attribute %s=%j', (name, value, message) => {
    const err = refusal(() => topicAttributePatch(name, value));
    expect(err.code).toBe('InvalidParameter');
    expect(err.message).toMatch(message);
  });

  it.each<[string, string, string, ReturnType<typeof subscriptionAttributePatch>]>([
    ['FilterPolicy', '{"store":["berlin"]}', 'http', { filterPolicy: { store: ['berlin'] } }],
    ['FilterPolicy', '', 'sms', { filterPolicy: null }],
    ['FilterPolicyScope', 'MessageBody', 'http', { filterPolicyScope: 'body' }],
    ['FilterPolicyScope', 'MessageAttributes', 'email', { filterPolicyScope: 'attributes' }],
    ['RawMessageDelivery', 'TRUE', 'https', { rawDelivery: true }],
    ['RawMessageDelivery', 'false', 'email', { rawDelivery: false }],
    [
      'DeliveryPolicy',
      '{"healthyRetryPolicy":{"numRetries":2}}',
      'http',
      { deliveryPolicy: { maxAttempts: 3 } },
    ],
  ])('takes subscription attribute %s=%j (%s)', (name, value, protocol, patch) => {
    expect(subscriptionAttributePatch(name, value, protocol)).toEqual(patch);
  });

  it.each<[string, string, string, RegExp]>([
    ['FilterPolicy', '{', 'http', /failed to parse JSON/],
    ['FilterPolicy', '[1]', 'http', /JSON object/],
    ['FilterPolicyScope', 'Body', 'http', /MessageAttributes or MessageBody/],
    ['RawMessageDelivery', 'yes', 'http', /true or false/],
    ['RawMessageDelivery', 'true', 'email', /raw delivery is for http and https subscriptions, not email/],
    ['RedrivePolicy', '{}', 'http', /own dead letters/],
    ['SubscriptionRoleArn', 'arn:x', 'http', /Firehose/],
    ['ReplayPolicy', '{}', 'http', /FIFO/],
    ['Colour', 'red', 'http', /Unknown attribute Colour/],
  ])('refuses subscription attribute %s=%j (%s)', (name, value, protocol, message) => {
    expect(refusal(() => subscriptionAttributePatch(name, value, protocol)).message).toMatch(message);
  });

  const now = new Date();
  const topic: Topic = {
    name: 'orders',
    displayName: null,
    description: null,
    deliveryPolicy: { maxAttempts: 3 },
    createdAt: now,
    updatedAt: now,
  };

  it('answers GetTopicAttributes with counts, the policies and the signature version', () => {
    const attrs = new Map(
      snsTopicAttributes(topic, { pending: 1, active: 2, paused: 1, disabled: 0, unsubscribed: 4 }, arns),
    );
    expect(Object.fromEntries(attrs)).toMatchObject({
      TopicArn: 'arn:aws:sns:us-east-1:000000000000:orders',
      Owner: '000000000000',
      DisplayName: '',
      SubscriptionsConfirmed: '3',
      SubscriptionsPending: '1',
      SubscriptionsDeleted: '4',
      SignatureVersion: '2',
    });
    expect(JSON.parse(attrs.get('DeliveryPolicy')!)).toEqual({
      http: { defaultHealthyRetryPolicy: { numRetries: 2, backoffFunction: 'exponential' } },
    });
    expect(JSON.parse(attrs.get('EffectiveDeliveryPolicy')!).http.defaultHealthyRetryPolicy).toMatchObject({
      numRetries: 2,
      minDelayTarget: 1,
      maxDelayTarget: 3600,
    });
  });

  it('answers GetSubscriptionAttributes, the topic’s policy beneath the subscription’s', () => {
    const sub: Subscription = {
      id: 'sub_01JD00000000000000000000AB',
      topic: 'orders',
      protocol: 'webhook',
      endpoint: 'https://example.com/h',
      status: 'pending',
      filterPolicy: { a: ['b'] },
      filterPolicyScope: 'body',
      rawDelivery: true,
      deliveryPolicy: { minDelayMs: 5000 },
      metadata: {},
      format: 'sns',
      secret: null,
      previousSecret: null,
      previousSecretExpiresAt: null,
      unsubscribeToken: 't',
      createdAt: now,
      updatedAt: now,
      confirmedAt: null,
    };
    const attrs = Object.fromEntries(snsSubscriptionAttributes(sub, { maxAttempts: 3 }, arns));
    expect(attrs).toMatchObject({
      SubscriptionArn: 'arn:aws:sns:us-east-1:000000000000:orders:sub_01JD00000000000000000000AB',
      Protocol: 'https',
      PendingConfirmation: 'true',
      RawMessageDelivery: 'true',
      FilterPolicy: '{"a":["b"]}',
      FilterPolicyScope: 'MessageBody',
      DeliveryPolicy: '{"healthyRetryPolicy":{"minDelayTarget":5,"backoffFunction":"exponential"}}',
    });
    expect(JSON.parse(attrs.EffectiveDeliveryPolicy).healthyRetryPolicy).toMatchObject({
      minDelayTarget: 5,
      numRetries: 2,
    });
    const plain = Object.fromEntries(
      snsSubscriptionAttributes({ ...sub, filterPolicy: null, deliveryPolicy: null }, null, arns),
    );
    expect(plain).not.toHaveProperty('FilterPolicy');
    expect(plain).not.toHaveProperty('DeliveryPolicy');
  });
});

describe('SNS tags', () => {
  it('takes keys and values as SNS allows them', () => {
    expect([
      ...checkTags([
        ['team', 'checkout'],
        ['cost-centre:42', ''],
        ['Ünïcode key', 'a/b=c+d@e'],
      ]),
    ]).toHaveLength(3);
  });

  it.each<[string, Array<[string, string]>, string, RegExp]>([
    ['an empty key', [['', 'v']], 'InvalidParameter', /must be 1 to 128/],
    ['a long key', [['k'.repeat(129), 'v']], 'InvalidParameter', /must be 1 to 128/],
    ['a long value', [['k', 'v'.repeat(257)]], 'InvalidParameter', /up to 256/],
    ['an aws: key', [['aws:cloudformation', 'v']], 'InvalidParameter', /reserved/],
    ['odd characters', [['k<script>', 'v']], 'InvalidParameter', /letters, digits/],
    [
      'a key twice',
      [
        ['k', '1'],
        ['k', '2'],
      ],
      'InvalidParameter',
      /more than once/,
    ],
    [
      '51 tags',
      Array.from({ length: 51 }, (_, i): [string, string] => [`k${i}`, 'v']),
      'TagLimitExceeded',
      /at most 50/,
    ],
  ])('refuses %s', (_, tags, code, message) => {
    const err = refusal(() => checkTags(tags));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
  });
});
