import type { DeliveryPolicy, DeliveryPolicyInput } from '@herald/core';
import { invalidParameter } from './sns-error';

/**
 * SNS's HTTP delivery policies and Herald's delivery policy. A subscription's policy is
 * `{healthyRetryPolicy, throttlePolicy, requestPolicy}`; a topic's wraps its defaults in `{http: …}`.
 * Herald retries exponentially between the min and max delay, so of SNS's retry policy only
 * `numRetries`, `minDelayTarget` and `maxDelayTarget` take effect; the other known fields are accepted.
 */
export type PolicyLevel = 'topic' | 'subscription';

const RETRY_FIELDS = new Set([
  'minDelayTarget',
  'maxDelayTarget',
  'numRetries',
  'numNoDelayRetries',
  'numMinDelayRetries',
  'numMaxDelayRetries',
  'backoffFunction',
]);
const BACKOFF_FUNCTIONS = new Set(['linear', 'arithmetic', 'geometric', 'exponential']);
/** Herald's maxAttempts goes to 100; SNS counts retries after the first attempt. */
const MAX_RETRIES = 99;
/** SNS's own ceiling for an HTTP delay target, in seconds. */
const MAX_DELAY_SECONDS = 3600;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses an SNS `DeliveryPolicy` attribute into Herald's policy; InvalidParameter on anything else. */
export function parseSnsDeliveryPolicy(text: string, level: PolicyLevel): DeliveryPolicyInput {
  const bad = (reason: string) => invalidParameter('DeliveryPolicy', reason);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bad('the policy is not valid JSON');
  }
  if (!isObject(parsed)) throw bad('the policy must be a JSON object');
  let policy: Json = parsed;
  let names = { retry: 'healthyRetryPolicy', throttle: 'throttlePolicy', request: 'requestPolicy' };
  if (level === 'topic') {
    for (const key of Object.keys(policy))
      if (key !== 'http') throw bad(`${key} is not supported: Herald takes the "http" policy alone`);
    if (policy.http === undefined) return {};
    if (!isObject(policy.http)) throw bad('http must be an object');
    policy = policy.http;
    names = {
      retry: 'defaultHealthyRetryPolicy',
      throttle: 'defaultThrottlePolicy',
      request: 'defaultRequestPolicy',
    };
  }
  const known = new Set([
    ...Object.values(names),
    'sicklyRetryPolicy',
    'guaranteed',
    'disableSubscriptionOverrides',
  ]);
  for (const key of Object.keys(policy))
    if (!known.has(key)) throw bad(`${key} is not a delivery policy field`);
  const out: DeliveryPolicyInput = {};
  const retry = policy[names.retry];
  if (retry !== undefined && retry !== null) {
    if (!isObject(retry)) throw bad(`${names.retry} must be an object`);
    for (const key of Object.keys(retry))
      if (!RETRY_FIELDS.has(key)) throw bad(`${names.retry}.${key} is not a retry policy field`);
    const int = (key: string, min: number, max: number): number | undefined => {
      const v = retry[key];
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
        throw bad(`${names.retry}.${key} must be an integer from ${min} to ${max}`);
      return v;
    };
    const retries = int('numRetries', 0, MAX_RETRIES);
    const minDelay = int('minDelayTarget', 0, MAX_DELAY_SECONDS);
    const maxDelay = int('maxDelayTarget', 0, MAX_DELAY_SECONDS);
    for (const key of ['numNoDelayRetries', 'numMinDelayRetries', 'numMaxDelayRetries'])
      int(key, 0, MAX_RETRIES);
    if (minDelay !== undefined && maxDelay !== undefined && minDelay > maxDelay)
      throw bad(`${names.retry}.minDelayTarget must not be greater than maxDelayTarget`);
    const backoff = retry.backoffFunction;
    if (backoff !== undefined && !(typeof backoff === 'string' && BACKOFF_FUNCTIONS.has(backoff)))
      throw bad(`${names.retry}.backoffFunction must be one of ${[...BACKOFF_FUNCTIONS].join(', ')}`);
    if (retries !== undefined) out.maxAttempts = retries + 1;
    if (minDelay !== undefined) out.minDelayMs = minDelay * 1000;
    if (maxDelay !== undefined) out.maxDelayMs = maxDelay * 1000;
  }
  const throttle = policy[names.throttle];
  if (throttle !== undefined && throttle !== null) {
    if (!isObject(throttle)) throw bad(`${names.throttle} must be an object`);
    for (const key of Object.keys(throttle))
      if (key !== 'maxReceivesPerSecond')
        throw bad(`${names.throttle}.${key} is not a throttle policy field`);
    const rate = throttle.maxReceivesPerSecond;
    if (rate !== undefined) {
      if (typeof rate !== 'number' || !Number.isInteger(rate) || rate < 1 || rate > 100_000)
        throw bad(`${names.throttle}.maxReceivesPerSecond must be an integer from 1 to 100000`);
      out.throttlePerSecond = rate;
    }
  }
  const request = policy[names.request];
  if (request !== undefined && request !== null && !isObject(request))
    throw bad(`${names.request} must be an object`);
  return out;
}

/** Herald's policy written as SNS's (only the fields it sets); null when it sets none. */
export function snsDeliveryPolicy(policy: DeliveryPolicyInput | null, level: PolicyLevel): string | null {
  if (!policy) return null;
  const retry: Json = {};
  if (policy.minDelayMs !== undefined) retry.minDelayTarget = policy.minDelayMs / 1000;
  if (policy.maxDelayMs !== undefined) retry.maxDelayTarget = policy.maxDelayMs / 1000;
  if (policy.maxAttempts !== undefined) retry.numRetries = policy.maxAttempts - 1;
  const hasRetry = Object.keys(retry).length > 0;
  if (hasRetry) retry.backoffFunction = 'exponential';
  const throttle =
    policy.throttlePerSecond !== undefined && policy.throttlePerSecond !== null
      ? { maxReceivesPerSecond: policy.throttlePerSecond }
      : undefined;
  if (!hasRetry && !throttle) return null;
  return JSON.stringify(
    level === 'topic'
      ? {
          http: {
            ...(hasRetry ? { defaultHealthyRetryPolicy: retry } : {}),
            ...(throttle ? { defaultThrottlePolicy: throttle } : {}),
          },
        }
      : {
          ...(hasRetry ? { healthyRetryPolicy: retry } : {}),
          ...(throttle ? { throttlePolicy: throttle } : {}),
        },
  );
}

/** The policy in force (every field resolved), as SNS's `EffectiveDeliveryPolicy` shows it. */
export function snsEffectiveDeliveryPolicy(policy: DeliveryPolicy, level: PolicyLevel): string {
  return snsDeliveryPolicy(policy, level) as string;
}
