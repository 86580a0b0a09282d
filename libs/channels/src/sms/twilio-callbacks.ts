// The webhook check alone: the whole SDK is loaded only when SMS is sent (see SmsAdapter).
import { validateRequest } from 'twilio/lib/webhooks/webhooks';

/** Message statuses Twilio reports in status callbacks. */
export const TWILIO_MESSAGE_STATUSES = [
  'accepted',
  'scheduled',
  'canceled',
  'queued',
  'sending',
  'sent',
  'failed',
  'delivered',
  'undelivered',
  'receiving',
  'received',
  'read',
  'partially_delivered',
] as const;
export type TwilioMessageStatus = (typeof TWILIO_MESSAGE_STATUSES)[number];

export interface TwilioStatusCallback {
  providerMessageId: string;
  status: TwilioMessageStatus;
  errorCode: string | null;
  to: string | null;
}

export type SmsKeyword = 'stop' | 'start' | 'help';

export interface InboundSms {
  from: string;
  to: string | null;
  body: string;
  keyword: SmsKeyword | null;
}

/** Twilio's default opt-out, opt-in and help keywords; Twilio itself acts on them, Herald mirrors it. */
const KEYWORDS = new Map<string, SmsKeyword>([
  ...['STOP', 'STOPALL', 'STOP ALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'OPTOUT', 'REVOKE'].map(
    (k) => [k, 'stop'] as const,
  ),
  ...['START', 'YES', 'UNSTOP'].map((k) => [k, 'start'] as const),
  ...['HELP', 'INFO'].map((k) => [k, 'help'] as const),
]);

const STATUSES: ReadonlySet<string> = new Set(TWILIO_MESSAGE_STATUSES);

/**
 * Checks `X-Twilio-Signature` against the public URL Twilio called (rebuilt from configuration behind a
 * proxy) and the posted form parameters. False for a missing signature or an unparsable URL.
 */
export function verifyTwilioSignature(
  authToken: string,
  signature: string | undefined,
  url: string,
  params: Record<string, string>,
): boolean {
  if (!signature || !authToken) return false;
  try {
    return validateRequest(authToken, signature, url, params);
  } catch {
    return false;
  }
}

/** The fields Herald uses from a message status callback; null when it is not one (no sid or status). */
export function parseStatusCallback(params: Record<string, string | undefined>): TwilioStatusCallback | null {
  const providerMessageId = nonEmpty(params.MessageSid) ?? nonEmpty(params.SmsSid);
  const status = (nonEmpty(params.MessageStatus) ?? nonEmpty(params.SmsStatus))?.toLowerCase();
  if (!providerMessageId || !status || !STATUSES.has(status)) return null;
  return {
    providerMessageId,
    status: status as TwilioMessageStatus,
    errorCode: nonEmpty(params.ErrorCode),
    to: nonEmpty(params.To),
  };
}

/** An incoming SMS with its opt-out / opt-in / help keyword, if the whole message is one; null without a sender. */
export function parseInboundSms(params: Record<string, string | undefined>): InboundSms | null {
  const from = nonEmpty(params.From);
  if (!from) return null;
  const body = params.Body ?? '';
  return { from, to: nonEmpty(params.To), body, keyword: smsKeyword(body) };
}

/** Twilio matches a keyword only when it is the whole message, ignoring case and surrounding spaces. */
export function smsKeyword(body: string): SmsKeyword | null {
  return KEYWORDS.get(body.trim().replace(/\s+/g, ' ').toUpperCase()) ?? null;
}

/** A TwiML answer to an incoming SMS: a reply message, or an empty response that sends nothing. */
export function twimlMessage(text?: string | null): string {
  const head = '<?xml version="1.0" encoding="UTF-8"?>';
  if (!text) return `${head}<Response/>`;
  return `${head}<Response><Message>${escapeXml(text)}</Message></Response>`;
}

function escapeXml(text: string): string {
  return (
    text
      // Control characters other than tab and line breaks are not allowed in XML 1.0 at all.
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

function nonEmpty(value: string | undefined): string | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}
