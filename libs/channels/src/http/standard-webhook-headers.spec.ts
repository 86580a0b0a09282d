import { generateSigningSecret } from '@herald/core';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  confirmationRequest,
  notificationRequest,
  subscriptionFixture,
} from '../../../../test/support/delivery-requests';
import { activeSecrets, standardWebhookHeaders } from './standard-webhook-headers';

const now = new Date('2030-01-02T03:04:05.678Z');

describe('activeSecrets', () => {
  const current = generateSigningSecret();
  const previous = generateSigningSecret();

  it.each([
    ['no previous secret', { previousSecret: null, previousSecretExpiresAt: null }, [current]],
    [
      'a previous secret in its grace period',
      { previousSecret: previous, previousSecretExpiresAt: new Date(now.getTime() + 1) },
      [current, previous],
    ],
    [
      'a previous secret whose grace period ended',
      { previousSecret: previous, previousSecretExpiresAt: now },
      [current],
    ],
    [
      'a previous secret without an end date',
      { previousSecret: previous, previousSecretExpiresAt: null },
      [current],
    ],
  ])('with %s', (_name, overrides, expected) => {
    expect(activeSecrets(subscriptionFixture({ secret: current, ...overrides }), now)).toEqual(expected);
  });
});

describe('standardWebhookHeaders', () => {
  it('builds headers the official verifier accepts, with every x-herald header', () => {
    const secret = generateSigningSecret();
    const sub = subscriptionFixture({ secret });
    const request = notificationRequest(sub, undefined, 4);
    const body = '{"hello":"world"}';
    const headers = standardWebhookHeaders(
      request,
      { id: 'msg_1', contentType: 'application/json', body },
      now,
    )!;
    expect(headers).toEqual({
      'content-type': 'application/json',
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': expect.stringMatching(/^v1,[A-Za-z0-9+/]+=*$/),
      'x-herald-topic': 'orders',
      'x-herald-subscription-id': sub.id,
      'x-herald-message-type': 'Notification',
      'x-herald-attempt': '4',
    });
    const verifier = new Webhook(secret);
    // The verifier checks the timestamp against its own clock: sign for "now" to verify.
    const fresh = standardWebhookHeaders(request, { id: 'msg_1', contentType: 'application/json', body })!;
    expect(verifier.verify(body, fresh)).toEqual({ hello: 'world' });
    expect(() => verifier.verify('{"hello":"tampered"}', fresh)).toThrow();
  });

  it('marks confirmations as such', () => {
    const request = confirmationRequest(subscriptionFixture());
    const headers = standardWebhookHeaders(
      request,
      { id: request.messageId, contentType: 'application/json', body: '{}' },
      now,
    );
    expect(headers?.['x-herald-message-type']).toBe('SubscriptionConfirmation');
  });

  it('is null without a signing secret', () => {
    const request = notificationRequest(subscriptionFixture({ secret: null }));
    expect(
      standardWebhookHeaders(request, { id: 'msg_1', contentType: 'text/plain', body: 'x' }, now),
    ).toBeNull();
  });
});
