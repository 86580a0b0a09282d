/**
 * Limits on a filter policy. Keys, combinations, size and the numeric range are the ones the SNS
 * documentation gives ("Filter policy constraints"); SNS documents no nesting depth, so `maxDepth` is
 * Herald's own bound, which also keeps validation and matching from recursing without end.
 */
export const FILTER_POLICY_LIMITS = {
  /** Attribute scope: distinct attribute names in the whole policy. Body scope: distinct top-level keys. */
  maxKeys: 5,
  /** Product of the value-array lengths, each times its nesting depth, summed over `$or` branches. */
  maxCombinations: 150,
  /** UTF-8 size of the policy as JSON. */
  maxBytes: 256 * 1024,
  /** Levels of nested objects and `$or` branches together, counting the top-level object as 1. */
  maxDepth: 10,
  /** Numbers in a policy, and message numbers that numeric conditions can compare, lie in ±1e9. */
  numericLimit: 1_000_000_000,
  /** Numbers compare at 5 decimal places, as SNS documents. */
  numericDecimals: 5,
} as const;
