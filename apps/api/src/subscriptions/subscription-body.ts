import type { Type } from '@nestjs/common';
import { createValidationPipe } from '../problem/validation';

/** Fields whose JSON belongs to the subscriber: a filter policy names message keys, metadata is theirs. */
const AS_SENT = ['filterPolicy', 'metadata'];

const pipe = createValidationPipe();

/**
 * Validates a subscription body like any DTO, but keeps `filterPolicy` and `metadata` exactly as sent. The
 * validation pipe deletes `constructor` and `prototype` keys at any depth, and class-transformer drops keys
 * named like Object.prototype methods (`toString`, `valueOf`…), which would silently turn
 * `{"constructor": ["x"]}` into a policy that matches every message.
 */
export async function subscriptionBody<T extends object>(type: Type<T>, raw: unknown): Promise<T> {
  const asSent = new Map<string, unknown>();
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    for (const field of AS_SENT) {
      if (Object.hasOwn(raw, field))
        asSent.set(field, structuredClone((raw as Record<string, unknown>)[field]));
    }
  }
  const dto = (await pipe.transform(raw, { type: 'body', metatype: type })) as T;
  for (const [field, value] of asSent) (dto as Record<string, unknown>)[field] = value;
  return dto;
}
