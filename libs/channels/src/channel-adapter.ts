import type { DeliveryOutcome, MessagePayload, Protocol, Subscription, Topic } from '@herald/core';

interface RequestBase {
  /** Delivery id (for a confirmation: a fresh id per send). */
  deliveryId: string;
  /** 1-based attempt number. */
  attempt: number;
  subscription: Subscription;
  topic: Pick<Topic, 'name' | 'displayName'>;
  /** Link that unsubscribes this subscription (no auth, token in the query). */
  unsubscribeUrl: string;
}

export interface NotificationRequest extends RequestBase {
  kind: 'Notification';
  message: MessagePayload;
}

export interface ConfirmationRequest extends RequestBase {
  kind: 'SubscriptionConfirmation';
  /** Id of this confirmation send; the `webhook-id` of a webhook confirmation. */
  messageId: string;
  token: string;
  confirmUrl: string;
  /** SNS-format subscriptions also get an UnsubscribeConfirmation when unsubscribed through SNS. */
  snsType?: 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';
}

export type DeliveryRequest = NotificationRequest | ConfirmationRequest;

export type EndpointCheck = { ok: true; endpoint: string } | { ok: false; message: string };

/**
 * One channel (webhook, email, SMS, function). An adapter sends and classifies; it never throws for a
 * failed delivery but returns the outcome, so retry and dead-letter handling lives once, in the worker.
 */
export interface ChannelAdapter {
  readonly protocol: Protocol;
  /** Checks and normalises a subscription endpoint; a failure becomes a 400 on the subscription. */
  checkEndpoint(endpoint: string): EndpointCheck;
  /** Whether the channel can send at all in this configuration (SMS needs Twilio), with the reason. */
  availability(): { available: true } | { available: false; reason: string };
  /**
   * A throttle the channel's provider imposes (e.g. messages per second per SMS sender). The worker
   * waits for a token before `send`, without spending an attempt. Null when there is none.
   */
  senderThrottle?(request: DeliveryRequest): { key: string; perSecond: number } | null;
  send(request: DeliveryRequest): Promise<DeliveryOutcome>;
  close(): Promise<void>;
}
