import {
  classifyNetworkError,
  describeError,
  failed,
  parseRetryAfter,
  retry,
  type DeliveryOutcome,
} from '@herald/core';

/** Twilio error code for "the recipient replied STOP": the subscription is unsubscribed, not retried. */
export const TWILIO_UNSUBSCRIBED_RECIPIENT = 21610;

/** Codes that say this recipient (or this message) can never be sent to: dead letter at once. */
const PERMANENT_CODES = new Map<number, string>([
  [21211, "the 'To' number is not a valid phone number"],
  [21614, "the 'To' number is not a mobile number"],
  [21612, "the 'To' number cannot be reached by SMS from this sender"],
  [21408, "sending SMS to the 'To' number's region is not enabled on the Twilio account"],
  [21604, "the 'To' number is missing"],
  [21617, 'the message body exceeds the 1,600-character limit'],
]);

/**
 * Codes that mean the operator's Twilio setup is wrong, not the delivery: retried, so deliveries survive
 * until the configuration is fixed, with a message that says what to fix.
 */
const CONFIGURATION_CODES = new Map<number, string>([
  [20003, 'Twilio rejected the credentials: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN'],
  [21212, 'Twilio rejected the sender: TWILIO_FROM is not a valid phone number'],
  [21606, 'Twilio rejected the sender: TWILIO_FROM cannot send SMS'],
  [21659, 'Twilio rejected the sender: TWILIO_FROM is not a number of this Twilio account'],
  [21603, 'Twilio needs a sender: set TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID'],
]);

const TOO_MANY_REQUESTS = 20429;

interface TwilioAnswer {
  status: number;
  code: number | null;
  text: string;
}

/**
 * A failed Twilio API call → outcome. Throttling (429, 20429), 5xx and network errors are retried
 * (honouring Retry-After); credential and sender problems are retried with a message for the operator;
 * invalid recipients fail, a recipient who replied STOP (21610) also unsubscribes; other 4xx fail.
 */
export function classifyTwilioError(
  err: unknown,
  retryAfter?: string | string[] | null,
  now = Date.now(),
): DeliveryOutcome {
  const answer = twilioAnswer(err);
  if (!answer) {
    if (hasNetworkCode(err))
      return classifyNetworkError(new Error(`Twilio API unreachable: ${describeError(err)}`));
    return retry(`Twilio call failed: ${describeError(err)}`);
  }
  const { status, code } = answer;
  const detail = `Twilio answered ${status}${code !== null ? ` (code ${code})` : ''}`;

  if (status === 429 || code === TOO_MANY_REQUESTS) {
    return retry(`${detail}: too many requests`, status, parseRetryAfter(retryAfter, now));
  }
  if (code === TWILIO_UNSUBSCRIBED_RECIPIENT) {
    return failed(`${detail}: the recipient has opted out (replied STOP)`, status, 'unsubscribe');
  }
  if (code !== null && PERMANENT_CODES.has(code))
    return failed(`${detail}: ${PERMANENT_CODES.get(code)}`, status);
  if (code !== null && CONFIGURATION_CODES.has(code)) {
    return retry(`${detail}: ${CONFIGURATION_CODES.get(code)}`, status);
  }
  if (status === 401) return retry(`${detail}: ${CONFIGURATION_CODES.get(20003)}`, status);
  if (status >= 500) return retry(`${detail}${answer.text}`, status, parseRetryAfter(retryAfter, now));
  return failed(`${detail}${answer.text}`, status);
}

/** RestException and TwilioServiceException both carry a numeric HTTP `status` and Twilio `code`. */
function twilioAnswer(err: unknown): TwilioAnswer | null {
  if (!err || typeof err !== 'object') return null;
  const e = err as { status?: unknown; code?: unknown; message?: unknown; detail?: unknown; title?: unknown };
  if (typeof e.status !== 'number') return null;
  const message = [e.message, e.detail, e.title].find(
    (m): m is string => typeof m === 'string' && m.trim() !== '',
  );
  return {
    status: e.status,
    code: typeof e.code === 'number' ? e.code : null,
    text: message ? `: ${message.replace(/\s+/g, ' ').trim().slice(0, 300)}` : '',
  };
}

/** Node and axios network failures carry a string code such as ECONNREFUSED or ECONNABORTED. */
function hasNetworkCode(err: unknown): boolean {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'string';
}
