import type { DeliveryPolicy, DeliveryPolicyInput, FieldError } from './types';

export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = {
  maxAttempts: 15,
  minDelayMs: 1000,
  maxDelayMs: 3_600_000,
  throttlePerSecond: null,
};

export const DELIVERY_POLICY_LIMITS = {
  maxAttempts: { min: 1, max: 100 },
  minDelayMs: { min: 0, max: 86_400_000 },
  maxDelayMs: { min: 0, max: 86_400_000 },
  throttlePerSecond: { min: 1, max: 100_000 },
} as const;

/** The effective policy: the subscription's own fields, then the topic's, then the global defaults. */
export function resolveDeliveryPolicy(
  ...layers: Array<DeliveryPolicyInput | null | undefined>
): DeliveryPolicy {
  const out: DeliveryPolicy = { ...DEFAULT_DELIVERY_POLICY };
  for (const layer of [...layers].reverse()) {
    if (!layer) continue;
    for (const key of Object.keys(DEFAULT_DELIVERY_POLICY) as Array<keyof DeliveryPolicy>) {
      const v = layer[key];
      if (v !== undefined) (out as unknown as Record<string, unknown>)[key] = v;
    }
  }
  return out;
}

/** Validates a deliveryPolicy object from a request; returns field errors (empty when valid). */
export function validateDeliveryPolicy(value: unknown, field = 'deliveryPolicy'): FieldError[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'object' || Array.isArray(value)) return [{ field, message: 'must be an object' }];
  const errors: FieldError[] = [];
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!(key in DELIVERY_POLICY_LIMITS)) {
      errors.push({ field: `${field}.${key}`, message: 'is not a known delivery policy field' });
      continue;
    }
    const v = obj[key];
    if (key === 'throttlePerSecond' && v === null) continue;
    const { min, max } = DELIVERY_POLICY_LIMITS[key as keyof typeof DELIVERY_POLICY_LIMITS];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      errors.push({ field: `${field}.${key}`, message: `must be an integer from ${min} to ${max}` });
    }
  }
  const min = obj.minDelayMs;
  const max = obj.maxDelayMs;
  if (typeof min === 'number' && typeof max === 'number' && min > max) {
    errors.push({ field: `${field}.maxDelayMs`, message: 'must not be less than minDelayMs' });
  }
  return errors;
}
