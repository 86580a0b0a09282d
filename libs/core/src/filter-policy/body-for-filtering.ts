import { isPlainObject } from './parse-filter-policy';

/**
 * The body as body-scope policies see it: a JSON object as is, a string that parses as a JSON object
 * parsed, anything else undefined (and then no body-scope policy matches). Call it once per message and
 * pass the result as `FilterInput.parsedBody`.
 */
export function bodyForFiltering(body: unknown): Record<string, unknown> | undefined {
  if (isPlainObject(body)) return body;
  if (typeof body !== 'string') return undefined;
  // Most non-JSON bodies (plain text, SMS) are rejected here without paying for a failed JSON.parse.
  if (body.trimStart().charCodeAt(0) !== 0x7b) return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return isPlainObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
