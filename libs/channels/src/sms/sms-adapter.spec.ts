import type { TwilioConfig } from '@herald/config';
import type { MessagePayload, Subscription } from '@herald/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../../test/support/servers';
import { TwilioServer } from '../../../../test/support/twilio-server';
import type { ConfirmationRequest, NotificationRequest } from '../channel-adapter';
import { SMS_DISABLED_REASON, SmsAdapter } from './sms-adapter';

const publicBaseUrl = 'https://herald.example.com';
const statusCallback = 'https://herald.example.com/v1/providers/twilio/status';

function subscription(endpoint = '+14155550100'): Subscription {
  const now = new Date();
  return {
    id: 'sub_01TEST',
    topic: 'orders',
    protocol: 'sms',
    endpoint,
    status: 'active',
    filterPolicy: null,
    filterPolicyScope: 'attributes',
    rawDelivery: false,
    deliveryPolicy: null,
    metadata: {},
    format: 'herald',
    secret: null,
    previousSecret: null,
    previousSecretExpiresAt: null,
    unsubscribeToken: 'unsub-token',
    createdAt: now,
    updatedAt: now,
    confirmedAt: now,
  };
}

function notification(message: Partial<MessagePayload> = {}, endpoint?: string): NotificationRequest {
  return {
    kind: 'Notification',
    deliveryId: 'dlv_01TEST',
    attempt: 1,
    subscription: subscription(endpoint),
    topic: { name: 'orders', displayName: null },
    unsubscribeUrl: 'https://herald.example.com/v1/subscriptions/unsubscribe?token=t',
    message: {
      id: 'msg_01TEST',
      topic: 'orders',
      subject: 'Order shipped',
      body: 'Parcel 42 is on its way',
      attributes: {},
      bodyByProtocol: {},
      publishedAt: new Date().toISOString(),
      ...message,
    },
  };
}

describe('SmsAdapter', () => {
  let server: TwilioServer;
  const adapters: SmsAdapter[] = [];

  const config = (over: Partial<TwilioConfig> = {}): TwilioConfig => ({
    accountSid: server.accountSid,
    authToken: server.authToken,
    from: '+15005550006',
    messagingServiceSid: null,
    apiBaseUrl: server.url,
    messagesPerSecond: 3,
    ...over,
  });
  const adapter = (over: Partial<TwilioConfig> = {}) => {
    const a = new SmsAdapter({ twilio: config(over), publicBaseUrl: `${publicBaseUrl}/` });
    adapters.push(a);
    return a;
  };

  beforeAll(async () => {
    server = await TwilioServer.start();
  });

  afterEach(async () => {
    await Promise.all(adapters.splice(0).map((a) => a.close()));
  });

  afterAll(async () => {
    await server.close();
  });

  describe('sending through the twilio SDK', () => {
    it('sends subject and body from TWILIO_FROM with the status callback, and records the message sid', async () => {
      const outcome = await adapter().send(notification());
      const message = await server.nextMessage();
      expect(message).toMatchObject({
        to: '+14155550100',
        from: '+15005550006',
        messagingServiceSid: null,
        body: 'Order shipped\nParcel 42 is on its way',
        // The delivery id rides along so the callback is recorded on its message's shard.
        statusCallback: `${statusCallback}?delivery=${notification().deliveryId}`,
      });
      expect(message.sid).toMatch(/^SM[0-9a-f]{32}$/);
      expect(outcome).toEqual({ result: 'delivered', statusCode: 201, providerMessageId: message.sid });
    });

    it('sends through a messaging service when no TWILIO_FROM is set', async () => {
      const outcome = await adapter({
        from: null,
        messagingServiceSid: 'MG0123456789abcdef0123456789abcdef',
      }).send(notification({ subject: null }));
      const message = await server.nextMessage();
      expect(message).toMatchObject({
        from: null,
        messagingServiceSid: 'MG0123456789abcdef0123456789abcdef',
        body: 'Parcel 42 is on its way',
      });
      expect(message.params).not.toHaveProperty('From');
      expect(outcome).toMatchObject({ result: 'delivered', providerMessageId: message.sid });
    });

    it('prefers bodyByProtocol.sms', async () => {
      await adapter().send(notification({ bodyByProtocol: { sms: 'Short text', email: 'Long mail' } }));
      expect((await server.nextMessage()).body).toBe('Short text');
    });

    it('cuts a long body to 1,600 characters so Twilio accepts it', async () => {
      const outcome = await adapter().send(notification({ subject: null, body: 'z'.repeat(4000) }));
      const message = await server.nextMessage();
      expect(outcome.result).toBe('delivered');
      expect(message.body).toHaveLength(1600);
      expect(message.body.endsWith('z…')).toBe(true);
    });

    it('never sends a subscription confirmation', async () => {
      const before = server.requests.length;
      const request: ConfirmationRequest = {
        ...notification(),
        kind: 'SubscriptionConfirmation',
        messageId: 'msg_01CONF',
        token: 'tok',
        confirmUrl: 'https://herald.example.com/v1/subscriptions/confirm?token=tok',
      };
      expect(await adapter().send(request)).toEqual({
        result: 'failed',
        error: 'SMS subscriptions need no confirmation',
      });
      expect(server.requests.length).toBe(before);
    });

    it('fails a message with no text without calling Twilio', async () => {
      const before = server.requests.length;
      const outcome = await adapter().send(notification({ subject: null, body: '' }));
      expect(outcome).toMatchObject({ result: 'failed' });
      expect(server.requests.length).toBe(before);
    });
  });

  describe('classifying Twilio’s answers', () => {
    it('retries 429 / 20429 after the Retry-After Twilio asked for', async () => {
      server.scriptAnswers({ status: 429, code: 20429, message: 'Too Many Requests', retryAfter: 7 });
      expect(await adapter().send(notification())).toMatchObject({
        result: 'retry',
        statusCode: 429,
        retryAfterMs: 7000,
      });
    });

    it('retries 500', async () => {
      server.scriptAnswers({ status: 500 });
      const outcome = await adapter().send(notification());
      expect(outcome).toMatchObject({ result: 'retry', statusCode: 500 });
      expect(outcome).not.toHaveProperty('retryAfterMs');
    });

    it('fails an invalid number (21211) at once', async () => {
      server.scriptAnswers({
        status: 400,
        code: 21211,
        message: "The 'To' number +1999 is not a valid phone number.",
      });
      expect(await adapter().send(notification())).toMatchObject({ result: 'failed', statusCode: 400 });
    });

    it('fails and unsubscribes a recipient who replied STOP (21610)', async () => {
      server.scriptAnswers({
        status: 400,
        code: 21610,
        message: 'Attempt to send to unsubscribed recipient',
      });
      expect(await adapter().send(notification())).toMatchObject({
        result: 'failed',
        statusCode: 400,
        action: 'unsubscribe',
      });
    });

    it('answers 21211 itself for a malformed number, as Twilio does', async () => {
      expect(await adapter().send(notification({}, '12345'))).toMatchObject({
        result: 'failed',
        statusCode: 400,
      });
    });

    it('retries bad credentials with a message for the operator and without the token', async () => {
      const wrongToken = 'wrong-token-5f2b9c0d7e1a4b38';
      const outcome = await adapter({ authToken: wrongToken }).send(notification());
      expect(outcome).toMatchObject({ result: 'retry', statusCode: 401 });
      const text = JSON.stringify(outcome);
      expect(text).toMatch(/TWILIO_AUTH_TOKEN/);
      expect(text).not.toContain(wrongToken);
      expect(text).not.toContain(Buffer.from(`${server.accountSid}:${wrongToken}`).toString('base64'));
      expect(text).not.toContain(server.authToken);
    });

    it('retries when the Twilio API cannot be reached', async () => {
      const port = await freePort();
      const outcome = await adapter({ apiBaseUrl: `http://127.0.0.1:${port}` }).send(notification());
      expect(outcome.result).toBe('retry');
      expect(outcome.result === 'retry' && outcome.error).toMatch(/ECONNREFUSED/);
      expect(JSON.stringify(outcome)).not.toContain(server.authToken);
    });

    it('keeps each concurrent call’s Retry-After apart', async () => {
      server.scriptAnswers({ status: 429, code: 20429, retryAfter: 3 }, { status: 503, retryAfter: 9 });
      const a = adapter();
      const outcomes = await Promise.all([
        a.send(notification()),
        a.send(notification()),
        a.send(notification()),
      ]);
      const retryAfters = outcomes.map((o) => (o.result === 'retry' ? o.retryAfterMs : o.result)).sort();
      expect(retryAfters).toEqual([3000, 9000, 'delivered']);
      const sent = outcomes.find((o) => o.result === 'delivered');
      expect((await server.nextMessage()).sid).toBe(sent?.result === 'delivered' && sent.providerMessageId);
    });

    it('sends concurrent deliveries over one client', async () => {
      const before = server.messages.length;
      const a = adapter();
      const outcomes = await Promise.all(
        ['+14155550101', '+14155550102', '+14155550103', '+14155550104'].map((to) =>
          a.send(notification({}, to)),
        ),
      );
      const messages = await server.waitForMessages(before + 4);
      for (let i = 0; i < 4; i++) await server.nextMessage();
      expect(outcomes.every((o) => o.result === 'delivered')).toBe(true);
      expect(new Set(messages.slice(before).map((m) => m.to)).size).toBe(4);
    });
  });

  describe('configuration', () => {
    it('is unavailable, with the reason, when Twilio is not configured', async () => {
      const disabled = new SmsAdapter({ twilio: null, publicBaseUrl });
      expect(disabled.availability()).toEqual({ available: false, reason: SMS_DISABLED_REASON });
      expect(disabled.senderThrottle(notification())).toBeNull();
      expect(await disabled.send(notification())).toEqual({ result: 'retry', error: SMS_DISABLED_REASON });
      await disabled.close();
    });

    it('is available when configured', () => {
      expect(adapter().availability()).toEqual({ available: true });
    });

    it('throttles per sending number or messaging service', () => {
      expect(adapter().senderThrottle(notification())).toEqual({ key: 'sms:+15005550006', perSecond: 3 });
      expect(
        adapter({ from: null, messagingServiceSid: 'MGabc', messagesPerSecond: 10 }).senderThrottle(
          notification(),
        ),
      ).toEqual({
        key: 'sms:MGabc',
        perSecond: 10,
      });
    });
  });

  describe('checkEndpoint', () => {
    const check = (endpoint: string) =>
      new SmsAdapter({ twilio: null, publicBaseUrl }).checkEndpoint(endpoint);

    it.each([
      ['+14155550100', '+14155550100'],
      ['  +14155550100 ', '+14155550100'],
      ['+1 (415) 555-0100', '+14155550100'],
      ['+44 20 7183 8750', '+442071838750'],
      ['+44 07911 123456', '+447911123456'],
      ['+33.6.12.34.56.78', '+33612345678'],
    ])('accepts %j as %s', (endpoint, normalised) => {
      expect(check(endpoint)).toEqual({ ok: true, endpoint: normalised });
    });

    it.each([
      ['4155550100', 'no country code'],
      ['0044 20 7183 8750', 'international prefix instead of +'],
      ['+1 415 CALL-NOW', 'letters'],
      ['+123', 'too short'],
      ['+999999999999', 'no such country'],
      ['+1 123 555 0100', 'no such area code'],
      ['+14155550100;ext=2', 'an extension'],
      ['tel:+14155550100', 'a URI'],
      ['', 'empty'],
    ])('rejects %j (%s)', (endpoint) => {
      const result = check(endpoint);
      expect(result.ok).toBe(false);
      expect(!result.ok && result.message).toMatch(
        /^must be a (valid )?phone number in E\.164 form, such as \+14155550100/,
      );
    });
  });
});
