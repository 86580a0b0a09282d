import type { ConfirmationEnvelope } from '@herald/core';
import type { ConfirmationRequest } from '../channel-adapter';

/** The body of a subscription confirmation, for webhooks and functions alike. */
export function confirmationEnvelope(
  request: ConfirmationRequest,
  now: Date = new Date(),
): ConfirmationEnvelope {
  return {
    type: 'SubscriptionConfirmation',
    messageId: request.messageId,
    topic: request.topic.name,
    subscriptionId: request.subscription.id,
    token: request.token,
    confirmUrl: request.confirmUrl,
    timestamp: now.toISOString(),
  };
}
