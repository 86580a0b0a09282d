import type { ReceiverAnswer } from './types';

/**
 * One place that decides what an attempt's result means for the delivery. Every channel adapter
 * returns a DeliveryOutcome; the delivery worker acts on it the same way for all channels.
 */
export type DeliveryOutcome = (
  | { result: 'delivered'; statusCode?: number; providerMessageId?: string }
  | { result: 'retry'; statusCode?: number; error: string; retryAfterMs?: number }
  | { result: 'failed'; statusCode?: number; error: string; action?: SubscriptionAction }
) & { response?: ReceiverAnswer };

/** Response headers worth keeping with an attempt: what it was, when to retry, and ids to quote to its owner. */
export const RECEIVER_ANSWER_HEADERS = [
  'content-type',
  'retry-after',
  'location',
  'x-request-id',
  'request-id',
  'x-amzn-requestid',
  'x-amz-request-id',
  'cf-ray',
] as const;
export const RECEIVER_ANSWER_BODY_BYTES = 4096;

/** The answer to keep from a status, raw headers and the first bytes read of the body. */
export function receiverAnswer(
  statusCode: number,
  headers: Record<string, string | string[] | undefined>,
  bodyStart: Buffer,
  bodyTruncated: boolean,
): ReceiverAnswer {
  const kept: Record<string, string> = {};
  for (const name of RECEIVER_ANSWER_HEADERS) {
    const value = headers[name];
    if (value !== undefined) kept[name] = (Array.isArray(value) ? value.join(', ') : value).slice(0, 500);
  }
  const cut = bodyStart.length > RECEIVER_ANSWER_BODY_BYTES;
  // NUL cannot be stored in PostgreSQL's JSON; a cut UTF-8 sequence decodes as U+FFFD.
  const body = bodyStart
    .subarray(0, RECEIVER_ANSWER_BODY_BYTES)
    .toString('utf8')
    .replaceAll('\u0000', '\ufffd');
  return { statusCode, headers: kept, body, bodyTruncated: bodyTruncated || cut };
}

/** What a permanent failure does to the subscription besides dead-lettering the delivery. */
export type SubscriptionAction = 'disable' | 'unsubscribe';

export const delivered = (statusCode?: number, providerMessageId?: string): DeliveryOutcome => ({
  result: 'delivered',
  ...(statusCode !== undefined ? { statusCode } : {}),
  ...(providerMessageId !== undefined ? { providerMessageId } : {}),
});

export const retry = (error: string, statusCode?: number, retryAfterMs?: number): DeliveryOutcome => ({
  result: 'retry',
  error,
  ...(statusCode !== undefined ? { statusCode } : {}),
  ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
});

export const failed = (error: string, statusCode?: number, action?: SubscriptionAction): DeliveryOutcome => ({
  result: 'failed',
  error,
  ...(statusCode !== undefined ? { statusCode } : {}),
  ...(action !== undefined ? { action } : {}),
});

const RETRYABLE_4XX = new Set([408, 425, 429]);

/**
 * HTTP answer → outcome (webhook and function over HTTP): 2xx delivered; 408/425/429/5xx retried;
 * 410 dead letter and subscription disabled; 3xx (redirects are not followed) and other 4xx dead letter.
 */
export function classifyHttpStatus(
  statusCode: number,
  retryAfter?: string | string[] | null,
  now = Date.now(),
): DeliveryOutcome {
  if (statusCode >= 200 && statusCode < 300) return delivered(statusCode);
  if (statusCode === 410)
    return failed('receiver answered 410 Gone; subscription disabled', statusCode, 'disable');
  if (RETRYABLE_4XX.has(statusCode) || statusCode >= 500) {
    return retry(`receiver answered ${statusCode}`, statusCode, parseRetryAfter(retryAfter, now));
  }
  if (statusCode >= 300 && statusCode < 400) {
    return failed(`receiver answered ${statusCode} (redirects are not followed)`, statusCode);
  }
  return failed(`receiver answered ${statusCode}`, statusCode);
}

/** `Retry-After` as delay-seconds or an HTTP date → milliseconds from now; undefined when absent or invalid. */
export function parseRetryAfter(
  value: string | string[] | null | undefined,
  now = Date.now(),
): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw === null) return undefined;
  const trimmed = raw.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP date names its weekday and month; V8 would otherwise read "-5" or "1.5" as dates.
  if (!/^[A-Za-z]{3},/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Error codes of network-level failures: all retried. */
export function classifyNetworkError(err: unknown): DeliveryOutcome {
  return retry(describeError(err));
}

/** A short, secret-free description of an error for attempt records. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const text =
      typeof code === 'string' && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
    return text.slice(0, 500);
  }
  return String(err).slice(0, 500);
}
