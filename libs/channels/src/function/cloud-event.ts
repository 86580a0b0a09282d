import { bodyFor, notificationEnvelope } from '@herald/core';
import type { DeliveryRequest } from '../channel-adapter';
import { confirmationEnvelope } from '../http/confirmation-envelope';

export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

/** A CloudEvents 1.0 event in structured JSON mode. */
export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: 'io.herald.notification' | 'io.herald.subscription.confirmation';
  subject?: string;
  time: string;
  datacontenttype: string;
  data: unknown;
}

/**
 * The event a function over HTTP receives. `source` is the topic's URL under PUBLIC_BASE_URL
 * (`<base>/v1/topics/<name>`), a URI that names the topic and tells installations apart. `data` is
 * the notification envelope, or with rawDelivery the body as published (a string as text/plain).
 */
export function cloudEventFor(
  request: DeliveryRequest,
  publicBaseUrl: string,
  now: Date = new Date(),
): CloudEvent {
  const source = `${publicBaseUrl.replace(/\/+$/, '')}/v1/topics/${encodeURIComponent(request.topic.name)}`;
  if (request.kind === 'SubscriptionConfirmation') {
    return {
      specversion: '1.0',
      id: request.messageId,
      source,
      type: 'io.herald.subscription.confirmation',
      time: now.toISOString(),
      datacontenttype: 'application/json',
      data: confirmationEnvelope(request, now),
    };
  }
  const { message, subscription } = request;
  const raw = subscription.rawDelivery ? bodyFor(message, subscription.protocol) : undefined;
  return {
    specversion: '1.0',
    id: message.id,
    source,
    type: 'io.herald.notification',
    ...(message.subject !== null && message.subject !== '' ? { subject: message.subject } : {}),
    time: message.publishedAt,
    datacontenttype: typeof raw === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    data: subscription.rawDelivery
      ? raw
      : notificationEnvelope(message, subscription, request.unsubscribeUrl),
  };
}
