import type { FieldError } from './types';

/** Names a publisher may give a message attribute; filter policies in attribute scope use the same names. */
export const ATTRIBUTE_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,256}$/;

/**
 * At most 50 attributes per message. SNS allows 10 on its own API; 50 leaves room for routing metadata
 * while bounding what every subscription's filter walks on every message.
 */
export const MAX_MESSAGE_ATTRIBUTES = 50;

/** `__proto__` passes the name pattern but would turn into a prototype if the map were ever copied with spread. */
const RESERVED_NAMES = new Set(['__proto__']);

/**
 * Checks a publish request's `attributes`: an object of at most 50 names matching `ATTRIBUTE_NAME_PATTERN`,
 * each a string, finite number, boolean, string[] or number[] (arrays may be empty). `undefined` means no
 * attributes and is valid. Returns one error per bad attribute, empty when valid.
 */
export function validateMessageAttributes(value: unknown, field = 'attributes'): FieldError[] {
  if (value === undefined) return [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [{ field, message: 'must be an object of attribute names to values' }];
  }
  const record = value as Record<string, unknown>;
  const names = Object.keys(record);
  const errors: FieldError[] = [];
  if (names.length > MAX_MESSAGE_ATTRIBUTES) {
    errors.push({
      field,
      message: `has ${names.length} attributes; at most ${MAX_MESSAGE_ATTRIBUTES} are allowed`,
    });
    return errors;
  }
  for (const name of names) {
    const path = `${field}.${name.length > 64 ? `${name.slice(0, 64)}…` : name}`;
    if (!ATTRIBUTE_NAME_PATTERN.test(name)) {
      errors.push({ field: path, message: 'name must be 1 to 256 characters of A-Z, a-z, 0-9, _, . or -' });
      continue;
    }
    if (RESERVED_NAMES.has(name)) {
      errors.push({ field: path, message: `name ${name} is reserved` });
      continue;
    }
    const problem = valueProblem(record[name]);
    if (problem) errors.push({ field: path, message: problem });
  }
  return errors;
}

function valueProblem(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : 'must be a finite number';
  }
  if (!Array.isArray(value)) return 'must be a string, finite number, boolean, string[] or number[]';
  const items: unknown[] = value;
  if (items.every((item) => typeof item === 'string')) return undefined;
  if (items.every((item) => typeof item === 'number')) {
    return items.every((item) => Number.isFinite(item)) ? undefined : 'array numbers must be finite';
  }
  return 'an array must hold only strings or only numbers';
}
