import { generateSigningSecret, newId, type MessagePayload, type Subscription } from '@herald/core';
import type { ConfirmationRequest, NotificationRequest } from '@herald/channels';

/** A subscription as the catalog would hand it to a channel adapter. */
export function subscriptionFixture(overrides: Partial<Subscription> = {}): Subscription {
  const now = new Date();
  return {
    id: newId('sub'),
    topic: 'orders',
    protocol: 'webhook',
    endpoint: 'http://127.0.0.1:9/',
    status: 'active',
    filterPolicy: null,
    filterPolicyScope: 'attributes',
    rawDelivery: false,
    deliveryPolicy: null,
    metadata: {},
    format: 'herald',
    secret: generateSigningSecret(),
    previousSecret: null,
    previousSecretExpiresAt: null,
    unsubscribeToken: 'unsub-token',
    createdAt: now,
    updatedAt: now,
    confirmedAt: now,
    ...overrides,
  };
}

export function messageFixture(overrides: Partial<MessagePayload> = {}): MessagePayload {
  return {
    id: newId('msg'),
    topic: 'orders',
    subject: 'Order placed',
    body: { orderId: 42, total: 19.5 },
    attributes: { eventType: 'order_placed', priority: 2 },
    bodyByProtocol: {},
    publishedAt: new Date().toISOString(),
    ...overrides,
  };
}

export function notificationRequest(
  subscription: Subscription,
  message: MessagePayload = messageFixture({ topic: subscription.topic }),
  attempt = 1,
): NotificationRequest {
  return {
    kind: 'Notification',
    deliveryId: `dlv_${message.id}`,
    attempt,
    subscription,
    topic: { name: subscription.topic, displayName: null },
    unsubscribeUrl: `http://herald.test/v1/subscriptions/unsubscribe?token=${subscription.unsubscribeToken}`,
    message,
  };
}

export function confirmationRequest(subscription: Subscription): ConfirmationRequest {
  return {
    kind: 'SubscriptionConfirmation',
    deliveryId: newId('msg'),
    attempt: 1,
    subscription,
    topic: { name: subscription.topic, displayName: null },
    unsubscribeUrl: `http://herald.test/v1/subscriptions/unsubscribe?token=${subscription.unsubscribeToken}`,
    messageId: newId('msg'),
    token: 'confirm-token-123',
    confirmUrl: 'http://herald.test/v1/subscriptions/confirm?token=confirm-token-123',
  };
}
