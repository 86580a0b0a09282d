import { bodyAsText, type MessagePayload } from '@herald/core';

/** Twilio refuses longer bodies (error 21617). */
export const SMS_MAX_LENGTH = 1600;

const ELLIPSIS = '…';

/**
 * The text of an SMS: the publisher's `bodyByProtocol.sms` when given, else the subject on its own line
 * followed by the body; cut to 1,600 characters with an ellipsis.
 */
export function smsText(message: Pick<MessagePayload, 'subject' | 'body' | 'bodyByProtocol'>): string {
  const specific = message.bodyByProtocol?.sms;
  let text: string;
  if (specific !== undefined) {
    text = bodyAsText(specific);
  } else {
    const body = bodyAsText(message.body);
    const subject = message.subject ?? '';
    text = subject === '' ? body : body === '' ? subject : `${subject}\n${body}`;
  }
  return cut(text, SMS_MAX_LENGTH);
}

/** Cuts at a UTF-16 boundary that never separates the halves of a surrogate pair (an emoji, say). */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - ELLIPSIS.length;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return text.slice(0, end) + ELLIPSIS;
}
