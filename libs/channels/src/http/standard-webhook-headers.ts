import { signatureHeader, type Subscription } from '@herald/core';
import type { DeliveryRequest } from '../channel-adapter';

/** A request body ready to sign: the `webhook-id` it goes out under, its content type and its bytes. */
export interface SignableBody {
  id: string;
  contentType: string;
  body: string;
}

/** The secrets that sign now: the current one, and the previous one until its grace period ends. */
export function activeSecrets(subscription: Subscription, now: Date): string[] {
  const secrets: string[] = [];
  if (subscription.secret) secrets.push(subscription.secret);
  const until = subscription.previousSecretExpiresAt;
  if (subscription.previousSecret && until && until.getTime() > now.getTime())
    secrets.push(subscription.previousSecret);
  return secrets;
}

/**
 * The headers every signed Herald HTTP request carries (webhooks and functions over HTTP): Standard
 * Webhooks `webhook-id`/`-timestamp`/`-signature` plus the `x-herald-*` headers. Null when the
 * subscription has no signing secret.
 */
export function standardWebhookHeaders(
  request: DeliveryRequest,
  signable: SignableBody,
  now: Date = new Date(),
): Record<string, string> | null {
  const secrets = activeSecrets(request.subscription, now);
  if (secrets.length === 0) return null;
  const timestamp = Math.floor(now.getTime() / 1000);
  return {
    'content-type': signable.contentType,
    'webhook-id': signable.id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatureHeader(secrets, signable.id, timestamp, signable.body),
    'x-herald-topic': request.topic.name,
    'x-herald-subscription-id': request.subscription.id,
    'x-herald-message-type': request.kind,
    'x-herald-attempt': String(request.attempt),
  };
}
