import { FILTER_POLICY_LIMITS } from './filter-policy-limits';

const SCALE = 10 ** FILTER_POLICY_LIMITS.numericDecimals;

/**
 * A number as SNS compares it: rounded to 5 decimals and scaled to an integer (exact in a double up to
 * ±1e14), or NaN when it is not finite or outside ±1e9, so that every comparison with it is false.
 */
export function comparableNumber(value: number): number {
  if (!(value >= -FILTER_POLICY_LIMITS.numericLimit && value <= FILTER_POLICY_LIMITS.numericLimit))
    return NaN;
  // `+ 0` turns -0 into 0 so that Set lookups and printing agree.
  return Math.round(value * SCALE) + 0;
}
