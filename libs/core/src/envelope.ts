import type { MessagePayload, Protocol, Subscription } from './types';

/** The JSON notification every non-raw webhook/function delivery carries (API.md, "What receivers get"). */
export interface NotificationEnvelope {
  type: 'Notification';
  messageId: string;
  topic: string;
  subject: string | null;
  body: unknown;
  attributes: MessagePayload['attributes'];
  publishedAt: string;
  subscriptionId: string;
  unsubscribeUrl: string;
}

export interface ConfirmationEnvelope {
  type: 'SubscriptionConfirmation';
  messageId: string;
  topic: string;
  subscriptionId: string;
  token: string;
  confirmUrl: string;
  timestamp: string;
}

/** The body a protocol gets: `bodyByProtocol[protocol]` when the publisher gave one, else `body`. */
export function bodyFor(message: MessagePayload, protocol: Protocol): unknown {
  const specific = message.bodyByProtocol?.[protocol];
  return specific !== undefined ? specific : message.body;
}

export function notificationEnvelope(
  message: MessagePayload,
  subscription: Pick<Subscription, 'id' | 'protocol'>,
  unsubscribeUrl: string,
): NotificationEnvelope {
  return {
    type: 'Notification',
    messageId: message.id,
    topic: message.topic,
    subject: message.subject,
    body: bodyFor(message, subscription.protocol),
    attributes: message.attributes,
    publishedAt: message.publishedAt,
    subscriptionId: subscription.id,
    unsubscribeUrl,
  };
}

export interface HttpBody {
  contentType: string;
  body: string;
}

/**
 * What an HTTP receiver gets for a notification: the envelope as JSON, or with rawDelivery the body
 * as published (a string as text/plain, any other JSON value as application/json).
 */
export function renderHttpBody(
  message: MessagePayload,
  subscription: Pick<Subscription, 'id' | 'protocol' | 'rawDelivery'>,
  unsubscribeUrl: string,
): HttpBody {
  if (subscription.rawDelivery) {
    const raw = bodyFor(message, subscription.protocol);
    if (typeof raw === 'string') return { contentType: 'text/plain; charset=utf-8', body: raw };
    return { contentType: 'application/json', body: JSON.stringify(raw) };
  }
  return {
    contentType: 'application/json',
    body: JSON.stringify(notificationEnvelope(message, subscription, unsubscribeUrl)),
  };
}

/** Plain text of a body for text channels (email, SMS): strings as they are, JSON pretty-printed. */
export function bodyAsText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body === undefined || body === null) return '';
  return JSON.stringify(body, null, 2);
}
