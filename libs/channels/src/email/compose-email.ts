import { bodyAsText, bodyFor } from '@herald/core';
import type { SendMailOptions } from 'nodemailer';
import type { ConfirmationRequest, DeliveryRequest, NotificationRequest } from '../channel-adapter';

export interface EmailSettings {
  /** The From header, e.g. `Herald <herald@example.com>`. */
  from: string;
  /** Right-hand side of the Message-ID, normally the sender's domain. */
  messageIdDomain: string;
  /** Address (or `mailto:` URI) offered beside the unsubscribe link in List-Unsubscribe. */
  unsubscribeMailto: string | null;
}

/** How long a confirmation link stays valid, as API.md fixes it. */
export const CONFIRMATION_TTL_HOURS = 72;

/**
 * The email for one delivery request: subject, text and HTML parts, one-click unsubscribe headers
 * (RFC 8058) and a Message-ID derived from the delivery id so every retry carries the same one. With an
 * `snsDocument` (email-json) the text is that JSON document alone, as SNS sends it.
 */
export function composeEmail(
  request: DeliveryRequest,
  settings: EmailSettings,
  snsDocument?: string,
): SendMailOptions {
  const herald =
    request.kind === 'Notification' ? notificationContent(request) : confirmationContent(request);
  const content = snsDocument === undefined ? herald : { subject: herald.subject, text: snsDocument };
  const heraldMessageId = request.kind === 'Notification' ? request.message.id : request.messageId;
  const listUnsubscribe = [
    request.unsubscribeUrl,
    ...mailtoFor(settings.unsubscribeMailto, request.subscription.id),
  ];
  return {
    from: settings.from,
    to: request.subscription.endpoint,
    subject: content.subject,
    text: content.text,
    ...(content.html !== undefined ? { html: content.html } : {}),
    messageId: `<${request.deliveryId}@${settings.messageIdDomain}>`,
    // A nested array renders as one List-Unsubscribe line, which RFC 8058 one-click needs.
    list: { unsubscribe: [listUnsubscribe] },
    headers: {
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      // RFC 3834: keeps vacation responders from answering notifications.
      'Auto-Submitted': 'auto-generated',
      'X-Herald-Message-Type': request.kind,
      'X-Herald-Message-Id': heraldMessageId,
      'X-Herald-Topic': request.topic.name,
      'X-Herald-Subscription-Id': request.subscription.id,
    },
  };
}

/** Subject of a notification: the message's subject, else the topic's display name, else a generic line. */
export function notificationSubject(request: Pick<NotificationRequest, 'message' | 'topic'>): string {
  const candidates = [request.message.subject, request.topic.displayName];
  for (const candidate of candidates) {
    const line = oneLine(candidate ?? '');
    if (line !== '') return line;
  }
  return oneLine(`Notification from ${request.topic.name}`);
}

interface Content {
  subject: string;
  text: string;
  html?: string;
}

function notificationContent(request: NotificationRequest): Content {
  const body = bodyFor(request.message, 'email');
  const text = bodyAsText(body);
  const label = topicLabel(request);
  const reason = `You receive this because ${request.subscription.endpoint} is subscribed to ${label}.`;
  const bodyHtml = typeof body === 'string' ? paragraphs(text) : `<pre>${escapeHtml(text)}</pre>`;
  return {
    subject: notificationSubject(request),
    text: `${text}\n\n-- \n${reason}\nUnsubscribe: ${request.unsubscribeUrl}\n`,
    html: page(
      `${bodyHtml}\n<hr>\n<p style="font-size:12px;color:#666">${escapeHtml(reason)} ` +
        `<a href="${escapeHtml(request.unsubscribeUrl)}">Unsubscribe</a></p>`,
    ),
  };
}

function confirmationContent(request: ConfirmationRequest): Content {
  const label = topicLabel(request);
  const asked = `Someone, hopefully you, asked to send notifications from ${label} to ${request.subscription.endpoint}.`;
  const expiry = `The link expires in ${CONFIRMATION_TTL_HOURS} hours.`;
  const ignore =
    'If you did not ask for this, you can ignore this email: without a confirmation nothing more is sent.';
  return {
    subject: oneLine(`Confirm your subscription to ${label}`),
    text: `${asked}\n\nTo confirm the subscription, open this link:\n${request.confirmUrl}\n\n${expiry}\n${ignore}\n`,
    html: page(
      `<p>${escapeHtml(asked)}</p>\n` +
        `<p><a href="${escapeHtml(request.confirmUrl)}">Confirm the subscription</a></p>\n` +
        `<p>${escapeHtml(expiry)} ${escapeHtml(ignore)}</p>`,
    ),
  };
}

function topicLabel(request: Pick<DeliveryRequest, 'topic'>): string {
  const display = oneLine(request.topic.displayName ?? '');
  return display !== '' ? display : request.topic.name;
}

/** The mailto: alternative, carrying the subscription id so the operator's mailbox knows whom to unsubscribe. */
function mailtoFor(configured: string | null, subscriptionId: string): string[] {
  if (configured === null || configured.trim() === '') return [];
  const value = configured.trim();
  if (/^mailto:/i.test(value)) return [value];
  return [`mailto:${value}?subject=${encodeURIComponent(`unsubscribe ${subscriptionId}`)}`];
}

/** Header-safe single line: line breaks and other control characters become spaces. */
function oneLine(value: string): string {
  return (
    value
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f]+/g, ' ')
      .replace(/ {2,}/g, ' ')
      .trim()
  );
}

function paragraphs(text: string): string {
  return text
    .split(/\r?\n\s*\r?\n/)
    .filter((p) => p.trim() !== '')
    .map((p) => `<p>${escapeHtml(p).replace(/\r?\n/g, '<br>\n')}</p>`)
    .join('\n');
}

function page(inner: string): string {
  return `<!doctype html>\n<html><head><meta charset="utf-8"></head><body>\n${inner}\n</body></html>\n`;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
