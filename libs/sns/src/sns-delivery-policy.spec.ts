import { DEFAULT_DELIVERY_POLICY, type DeliveryPolicyInput } from '@herald/core';
import { describe, expect, it } from 'vitest';
import { parseSnsDeliveryPolicy, snsDeliveryPolicy, snsEffectiveDeliveryPolicy } from './sns-delivery-policy';
import { SnsError } from './sns-error';

describe('SNS delivery policies', () => {
  it.each<[string, 'topic' | 'subscription', DeliveryPolicyInput]>([
    ['{}', 'subscription', {}],
    [
      '{"healthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":60,"numRetries":50,"numNoDelayRetries":3,"numMinDelayRetries":2,"numMaxDelayRetries":35,"backoffFunction":"exponential"},"throttlePolicy":{"maxReceivesPerSecond":10},"requestPolicy":{"headerContentType":"text/html"}}',
      'subscription',
      { maxAttempts: 51, minDelayMs: 1000, maxDelayMs: 60_000, throttlePerSecond: 10 },
    ],
    ['{"healthyRetryPolicy":{"numRetries":0}}', 'subscription', { maxAttempts: 1 }],
    [
      '{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,"backoffFunction":"linear"},"disableSubscriptionOverrides":false,"defaultThrottlePolicy":{"maxReceivesPerSecond":1}}}',
      'topic',
      { maxAttempts: 4, minDelayMs: 20_000, maxDelayMs: 20_000, throttlePerSecond: 1 },
    ],
    ['{}', 'topic', {}],
  ])('reads %s (%s)', (text, level, expected) => {
    expect(parseSnsDeliveryPolicy(text, level)).toEqual(expected);
  });

  it.each<[string, 'topic' | 'subscription', RegExp]>([
    ['not json', 'subscription', /not valid JSON/],
    ['[]', 'subscription', /JSON object/],
    [
      '{"healthyRetryPolicy":{"numRetries":100}}',
      'subscription',
      /numRetries must be an integer from 0 to 99/,
    ],
    ['{"healthyRetryPolicy":{"numRetries":1.5}}', 'subscription', /numRetries must be an integer/],
    [
      '{"healthyRetryPolicy":{"minDelayTarget":30,"maxDelayTarget":10}}',
      'subscription',
      /minDelayTarget must not be greater/,
    ],
    [
      '{"healthyRetryPolicy":{"maxDelayTarget":3601}}',
      'subscription',
      /maxDelayTarget must be an integer from 0 to 3600/,
    ],
    ['{"healthyRetryPolicy":{"backoffFunction":"random"}}', 'subscription', /backoffFunction must be one of/],
    ['{"healthyRetryPolicy":{"jitter":true}}', 'subscription', /jitter is not a retry policy field/],
    [
      '{"throttlePolicy":{"maxReceivesPerSecond":0}}',
      'subscription',
      /maxReceivesPerSecond must be an integer from 1/,
    ],
    ['{"retryPolicy":{}}', 'subscription', /retryPolicy is not a delivery policy field/],
    ['{"http":{"healthyRetryPolicy":{}}}', 'topic', /healthyRetryPolicy is not a delivery policy field/],
    ['{"sqs":{}}', 'topic', /sqs is not supported/],
    ['{"http":[]}', 'topic', /http must be an object/],
  ])('refuses %s (%s)', (text, level, message) => {
    try {
      parseSnsDeliveryPolicy(text, level);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(SnsError);
      expect(err).toMatchObject({ code: 'InvalidParameter' });
      expect((err as Error).message).toMatch(/^Invalid parameter: DeliveryPolicy Reason: /);
      expect((err as Error).message).toMatch(message);
    }
  });

  it('writes Herald policies back in SNS form, and reads them as the same policy', () => {
    const policy = { maxAttempts: 4, minDelayMs: 2000, maxDelayMs: 30_000, throttlePerSecond: 5 };
    for (const level of ['topic', 'subscription'] as const) {
      const text = snsDeliveryPolicy(policy, level)!;
      expect(parseSnsDeliveryPolicy(text, level)).toEqual(policy);
    }
    expect(snsDeliveryPolicy(null, 'topic')).toBeNull();
    expect(snsDeliveryPolicy({}, 'subscription')).toBeNull();
    expect(JSON.parse(snsDeliveryPolicy({ throttlePerSecond: 3 }, 'topic')!)).toEqual({
      http: { defaultThrottlePolicy: { maxReceivesPerSecond: 3 } },
    });
    expect(JSON.parse(snsEffectiveDeliveryPolicy(DEFAULT_DELIVERY_POLICY, 'subscription'))).toEqual({
      healthyRetryPolicy: {
        minDelayTarget: 1,
        maxDelayTarget: 3600,
        numRetries: 14,
        backoffFunction: 'exponential',
      },
    });
  });
});
