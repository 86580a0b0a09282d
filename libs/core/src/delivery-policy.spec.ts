import { describe, expect, it } from 'vitest';
import { DEFAULT_DELIVERY_POLICY, resolveDeliveryPolicy, validateDeliveryPolicy } from './delivery-policy';

describe('resolveDeliveryPolicy', () => {
  it('takes the subscription, then the topic, then the defaults', () => {
    expect(resolveDeliveryPolicy(null, undefined)).toEqual(DEFAULT_DELIVERY_POLICY);
    expect(resolveDeliveryPolicy({ maxAttempts: 3 }, { maxAttempts: 9, minDelayMs: 50 })).toEqual({
      ...DEFAULT_DELIVERY_POLICY,
      maxAttempts: 3,
      minDelayMs: 50,
    });
    expect(
      resolveDeliveryPolicy({ throttlePerSecond: null }, { throttlePerSecond: 5 }).throttlePerSecond,
    ).toBeNull();
  });
});

describe('validateDeliveryPolicy', () => {
  it.each<[unknown, string[]]>([
    [undefined, []],
    [null, []],
    [{}, []],
    [{ maxAttempts: 1, minDelayMs: 0, maxDelayMs: 0, throttlePerSecond: null }, []],
    [{ maxAttempts: 100, minDelayMs: 10, maxDelayMs: 86_400_000, throttlePerSecond: 1 }, []],
    ['fast', ['deliveryPolicy']],
    [[1], ['deliveryPolicy']],
    [{ maxAttempts: 0 }, ['deliveryPolicy.maxAttempts']],
    [{ maxAttempts: 101 }, ['deliveryPolicy.maxAttempts']],
    [{ maxAttempts: 2.5 }, ['deliveryPolicy.maxAttempts']],
    [{ maxAttempts: '3' }, ['deliveryPolicy.maxAttempts']],
    [{ minDelayMs: -1 }, ['deliveryPolicy.minDelayMs']],
    [{ minDelayMs: 5000, maxDelayMs: 1000 }, ['deliveryPolicy.maxDelayMs']],
    [{ throttlePerSecond: 0 }, ['deliveryPolicy.throttlePerSecond']],
    [{ retries: 3 }, ['deliveryPolicy.retries']],
  ])('%j → %j', (value, fields) => {
    expect(validateDeliveryPolicy(value).map((e) => e.field)).toEqual(fields);
  });
});
