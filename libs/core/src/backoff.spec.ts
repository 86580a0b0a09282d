import { describe, expect, it } from 'vitest';
import { retryDelayMs } from './backoff';

const policy = { minDelayMs: 1000, maxDelayMs: 60_000 };

describe('retryDelayMs', () => {
  it.each([
    // attemptsMade, random, expected
    [1, 0.5, 1000],
    [2, 0.5, 2000],
    [3, 0.5, 4000],
    [7, 0.5, 60_000],
    [1, 0, 800],
    [1, 1, 1200],
    [3, 0, 3200],
    [30, 1, 60_000],
  ])('after %i attempts with random %f waits %i ms', (n, r, expected) => {
    expect(retryDelayMs(n, policy, undefined, () => r)).toBe(expected);
  });

  it('honours a longer Retry-After, capped at maxDelayMs', () => {
    expect(retryDelayMs(1, policy, 5000, () => 0.5)).toBe(5000);
    expect(retryDelayMs(1, policy, 500_000, () => 0.5)).toBe(60_000);
    expect(retryDelayMs(3, policy, 10, () => 0.5)).toBe(4000);
  });
});
