import { describeError, failed, retry, type DeliveryOutcome } from '@herald/core';

/** Failures of the connection rather than of the message: the same message may go through later. */
const CONNECTION_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ETLS',
  'EPROXY',
  'EABORT',
  'EPROTOCOL',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
]);

/** Problems only the operator can fix; deliveries wait (retry) until the configuration is right. */
const CONFIGURATION_CODES = new Set(['EAUTH', 'ENOAUTH', 'EOAUTH2', 'ECONFIG', 'EREQUIRETLS']);

/** Nodemailer refusing the message itself before the server saw it: sending it again changes nothing. */
const MESSAGE_CODES = new Set(['EENVELOPE', 'EMESSAGE', 'EMAXRECIPIENTS', 'EOTP']);

/**
 * Enhanced status codes (RFC 3463) that say the mailbox or its domain does not exist: the subscription
 * keeps bouncing, so it is disabled besides the dead letter.
 */
const DEAD_MAILBOX = /^5\d\d[ -]5\.1\.(?:1|2|10)\b/;

interface SmtpErrorFields {
  code?: unknown;
  originalCode?: unknown;
  responseCode?: unknown;
  permanent?: unknown;
  response?: unknown;
  command?: unknown;
}

/**
 * A nodemailer error → outcome: SMTP 4xx, 503, connection failures and configuration problems (auth)
 * are retried; other 5xx replies are permanent (dead letter at once). The error text is secret-free
 * as long as the error is: callers redact credentials they hold.
 */
export function classifySmtpError(err: unknown): DeliveryOutcome {
  const fields: SmtpErrorFields = typeof err === 'object' && err !== null ? err : {};
  const code = typeof fields.code === 'string' ? fields.code : undefined;
  const originalCode = typeof fields.originalCode === 'string' ? fields.originalCode : undefined;
  const responseCode = typeof fields.responseCode === 'number' ? fields.responseCode : undefined;
  const text = describeError(err);

  if (code !== undefined && CONFIGURATION_CODES.has(code)) {
    const what =
      code === 'EREQUIRETLS' || code === 'ECONFIG'
        ? 'SMTP configuration problem'
        : 'SMTP authentication failed';
    return retry(`${what} (check SMTP_URL): ${text}`, responseCode);
  }
  // 530 (authentication required) and a refused sender are wrong settings, not a bad message: every
  // delivery would fail the same way until the operator fixes them, so none is dead-lettered meanwhile.
  if (
    responseCode === 530 ||
    (fields.command === 'MAIL FROM' &&
      responseCode !== undefined &&
      responseCode >= 500 &&
      responseCode !== 552)
  ) {
    return retry(`SMTP server refused the sender (check EMAIL_FROM and SMTP_URL): ${text}`, responseCode);
  }
  if (responseCode !== undefined) {
    const permanent =
      typeof fields.permanent === 'boolean' ? fields.permanent : isPermanentReply(responseCode);
    if (!permanent) return retry(text, responseCode);
    const response = typeof fields.response === 'string' ? fields.response : '';
    return DEAD_MAILBOX.test(response) ? failed(text, responseCode, 'disable') : failed(text, responseCode);
  }
  if (
    (code !== undefined && CONNECTION_CODES.has(code)) ||
    (originalCode !== undefined && CONNECTION_CODES.has(originalCode))
  ) {
    return retry(text);
  }
  if (code !== undefined && MESSAGE_CODES.has(code)) return failed(text);
  // Unknown failures are retried: at-least-once delivery prefers a wasted attempt to a lost message.
  return retry(text);
}

/** RFC 5321: 5yz is a permanent rejection, except 503 (bad sequence), which a fresh session may not repeat. */
function isPermanentReply(responseCode: number): boolean {
  return responseCode >= 500 && responseCode < 600 && responseCode !== 503;
}
