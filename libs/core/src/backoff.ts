import type { DeliveryPolicy } from './types';

/** ±20 % jitter, as API.md fixes it. */
export const JITTER = 0.2;

/**
 * The wait before attempt `attemptsMade + 1`: min(maxDelayMs, minDelayMs × 2^(attemptsMade-1)) with ±20 %
 * jitter, or the receiver's Retry-After when that asks for longer (capped at maxDelayMs).
 * `random` is injectable so the schedule is testable.
 */
export function retryDelayMs(
  attemptsMade: number,
  policy: Pick<DeliveryPolicy, 'minDelayMs' | 'maxDelayMs'>,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const n = Math.max(1, attemptsMade);
  const base = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** Math.min(n - 1, 40));
  const jittered = base * (1 - JITTER + 2 * JITTER * random());
  const capped = Math.min(policy.maxDelayMs, Math.round(jittered));
  if (retryAfterMs !== undefined && retryAfterMs > capped) return Math.min(policy.maxDelayMs, retryAfterMs);
  return capped;
}
