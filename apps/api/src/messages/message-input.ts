import {
  PROTOCOLS,
  validateMessageAttributes,
  type FieldError,
  type MessageAttributes,
  type Protocol,
} from '@herald/core';
import type { PublishInput } from '@herald/queue';

export interface ParsedPublish {
  input: PublishInput;
  idempotencyKey: string | null;
}

const FIELDS = new Set(['body', 'subject', 'attributes', 'bodyByProtocol', 'idempotencyKey']);

/**
 * Checks one publish body (also each entry of a batch) and returns the input or every field error.
 * Done by hand rather than by DTO transformation so that `body` stays exactly the JSON that was sent.
 */
export function parsePublish(
  raw: unknown,
  prefix = '',
): { ok: true; value: ParsedPublish } | { ok: false; errors: FieldError[] } {
  const f = (name: string) => `${prefix}${name}`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return {
      ok: false,
      errors: [{ field: prefix ? prefix.slice(0, -1) : 'body', message: 'must be a JSON object' }],
    };
  }
  const obj = raw as Record<string, unknown>;
  const errors: FieldError[] = [];
  for (const key of Object.keys(obj))
    if (!FIELDS.has(key)) errors.push({ field: f(key), message: 'is not a known field' });
  if (!('body' in obj) || obj.body === undefined) errors.push({ field: f('body'), message: 'is required' });
  const subject = obj.subject;
  if (subject !== undefined && subject !== null) {
    if (typeof subject !== 'string') errors.push({ field: f('subject'), message: 'must be a string' });
    else if (subject.length > 100)
      errors.push({ field: f('subject'), message: 'must be at most 100 characters' });
    else if (/[\r\n]/.test(subject))
      errors.push({ field: f('subject'), message: 'must not contain line breaks' });
  }
  if (obj.attributes !== undefined)
    errors.push(...validateMessageAttributes(obj.attributes, f('attributes')));
  const byProtocol = obj.bodyByProtocol;
  if (byProtocol !== undefined) {
    if (typeof byProtocol !== 'object' || byProtocol === null || Array.isArray(byProtocol)) {
      errors.push({ field: f('bodyByProtocol'), message: 'must be an object' });
    } else {
      for (const [k, v] of Object.entries(byProtocol)) {
        if (!(PROTOCOLS as readonly string[]).includes(k)) {
          errors.push({
            field: f(`bodyByProtocol.${k}`),
            message: `is not a protocol (${PROTOCOLS.join(', ')})`,
          });
        } else if ((k === 'email' || k === 'sms') && typeof v !== 'string') {
          errors.push({ field: f(`bodyByProtocol.${k}`), message: 'must be a string' });
        }
      }
    }
  }
  const key = obj.idempotencyKey;
  if (key !== undefined && key !== null) {
    if (typeof key !== 'string' || key.length === 0 || key.length > 128) {
      errors.push({ field: f('idempotencyKey'), message: 'must be a string of 1 to 128 characters' });
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      input: {
        body: obj.body,
        subject: typeof subject === 'string' ? subject : null,
        attributes: (obj.attributes as MessageAttributes | undefined) ?? {},
        bodyByProtocol: (byProtocol as Partial<Record<Protocol, unknown>> | undefined) ?? {},
      },
      idempotencyKey: typeof key === 'string' ? key : null,
    },
  };
}
