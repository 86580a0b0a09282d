import { generateSigningSecret, notificationEnvelope, type DeliveryOutcome } from '@herald/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  confirmationRequest,
  messageFixture,
  notificationRequest,
  subscriptionFixture,
} from '../../../../test/support/delivery-requests';
import { freePort } from '../../../../test/support/servers';
import { WebhookReceiver } from '../../../../test/support/webhook-receiver';
import { createOutboundHttp, type OutboundHttp, type OutboundHttpConfig } from '../http/outbound-http';
import { WebhookAdapter } from './webhook.adapter';

const LOOPBACK = ['127.0.0.0/8', '::1/128'];

const httpConfig = (overrides: Partial<OutboundHttpConfig> = {}): OutboundHttpConfig => ({
  connectTimeoutMs: 2_000,
  headersTimeoutMs: 5_000,
  bodyTimeoutMs: 5_000,
  connectionsPerOrigin: 4,
  allowCidrs: LOOPBACK,
  ...overrides,
});

describe('WebhookAdapter.checkEndpoint', () => {
  const http = createOutboundHttp(httpConfig());
  const adapter = new WebhookAdapter(http);

  afterAll(async () => {
    await http.close();
  });

  it.each([
    ['https://example.com/hooks/orders?x=1', 'https://example.com/hooks/orders?x=1'],
    ['HTTP://Example.COM', 'http://example.com/'],
    ['http://2130706433:8080/in', 'http://127.0.0.1:8080/in'],
    ['http://[::FFFF:127.0.0.1]/', 'http://[::ffff:7f00:1]/'],
  ])('accepts %s as %s', (endpoint, normalised) => {
    expect(adapter.checkEndpoint(endpoint)).toEqual({ ok: true, endpoint: normalised });
  });

  it.each([
    ['ftp://example.com/', 'must be an absolute http:// or https:// URL'],
    ['mailto:ops@example.com', 'must be an absolute http:// or https:// URL'],
    ['/relative/path', 'must be an absolute http:// or https:// URL'],
    ['not a url', 'must be an absolute http:// or https:// URL'],
    ['https://user:pass@example.com/', 'must not contain credentials'],
    ['https://token@example.com/', 'must not contain credentials'],
    [`https://example.com/${'a'.repeat(2030)}`, 'must be at most 2048 characters'],
  ])('refuses %s', (endpoint, message) => {
    const check = adapter.checkEndpoint(endpoint);
    expect(check.ok).toBe(false);
    expect(check.ok === false && check.message).toContain(message);
    expect(JSON.stringify(check)).not.toContain('pass@');
  });

  it('is always available', () => {
    expect(adapter.availability()).toEqual({ available: true });
  });
});

describe('WebhookAdapter.send', () => {
  const secret = generateSigningSecret();
  const receiver = new WebhookReceiver({ secrets: [secret] });
  let http: OutboundHttp;
  let adapter: WebhookAdapter;

  beforeAll(async () => {
    await receiver.start();
    http = createOutboundHttp(httpConfig());
    adapter = new WebhookAdapter(http);
  });
  afterAll(async () => {
    await http.close();
    await receiver.stop();
  });

  const subscription = () =>
    subscriptionFixture({ endpoint: receiver.urlFor('127.0.0.1', '/hooks/orders'), secret });

  it('delivers a signed notification with the envelope and the x-herald headers', async () => {
    const sub = subscription();
    const request = notificationRequest(sub, undefined, 3);
    const outcome = await adapter.send(request);
    const got = await receiver.next();

    expect(outcome).toMatchObject({ result: 'delivered', statusCode: 200 });
    // The receiver's answer, as the attempt records it.
    expect(outcome.response).toEqual({ statusCode: 200, headers: {}, body: '', bodyTruncated: false });
    expect(got.verified).toBe(true);
    expect(got.method).toBe('POST');
    expect(got.path).toBe('/hooks/orders');
    expect(got.headers).toMatchObject({
      'webhook-id': request.message.id,
      'content-type': 'application/json',
      'x-herald-topic': 'orders',
      'x-herald-subscription-id': sub.id,
      'x-herald-message-type': 'Notification',
      'x-herald-attempt': '3',
      'user-agent': 'Herald-Webhooks/1.0',
    });
    expect(got.headers['webhook-timestamp']).toMatch(/^\d{10}$/);
    expect(JSON.parse(got.body)).toEqual(notificationEnvelope(request.message, sub, request.unsubscribeUrl));
  });

  it('delivers a signed subscription confirmation', async () => {
    const sub = subscriptionFixture({ endpoint: receiver.url, secret, status: 'pending' });
    const request = confirmationRequest(sub);
    const outcome = await adapter.send(request);
    const got = await receiver.next();

    expect(outcome.result).toBe('delivered');
    expect(got.verified).toBe(true);
    expect(got.headers).toMatchObject({
      'webhook-id': request.messageId,
      'content-type': 'application/json',
      'x-herald-message-type': 'SubscriptionConfirmation',
      'x-herald-subscription-id': sub.id,
    });
    const body = JSON.parse(got.body);
    expect(body).toEqual({
      type: 'SubscriptionConfirmation',
      messageId: request.messageId,
      topic: 'orders',
      subscriptionId: sub.id,
      token: request.token,
      confirmUrl: request.confirmUrl,
      timestamp: expect.any(String),
    });
    expect(Number.isNaN(Date.parse(body.timestamp))).toBe(false);
  });

  it('sends a raw string body as text/plain', async () => {
    const sub = subscriptionFixture({ endpoint: receiver.url, secret, rawDelivery: true });
    const message = messageFixture({ body: 'plain text ✓', bodyByProtocol: {} });
    expect((await adapter.send(notificationRequest(sub, message))).result).toBe('delivered');
    const got = await receiver.next();
    expect(got.verified).toBe(true);
    expect(got.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(got.body).toBe('plain text ✓');
  });

  it('sends a raw JSON body (the webhook-specific one when given) as application/json', async () => {
    const sub = subscriptionFixture({ endpoint: receiver.url, secret, rawDelivery: true });
    const message = messageFixture({
      body: { generic: true },
      bodyByProtocol: { webhook: { forWebhooks: [1, 2] } },
    });
    expect((await adapter.send(notificationRequest(sub, message))).result).toBe('delivered');
    const got = await receiver.next();
    expect(got.verified).toBe(true);
    expect(got.headers['content-type']).toBe('application/json');
    expect(JSON.parse(got.body)).toEqual({ forWebhooks: [1, 2] });
  });

  it('fails permanently when the receiver cannot verify the signature', async () => {
    const sub = subscriptionFixture({ endpoint: receiver.url, secret: generateSigningSecret() });
    const outcome = await adapter.send(notificationRequest(sub));
    const got = await receiver.next();
    expect(got.verified).toBe(false);
    expect(outcome).toMatchObject({ result: 'failed', statusCode: 401, error: 'receiver answered 401' });
  });

  it('fails permanently for a subscription without a signing secret', async () => {
    const sub = subscriptionFixture({ endpoint: receiver.url, secret: null });
    const before = receiver.requests.length;
    expect(await adapter.send(notificationRequest(sub))).toMatchObject({
      result: 'failed',
      error: 'subscription has no signing secret',
    });
    expect(receiver.requests.length).toBe(before);
  });

  describe('after a secret rotation', () => {
    const oldSecret = generateSigningSecret();
    const newSecret = generateSigningSecret();
    const rotated = new WebhookReceiver({ secrets: [oldSecret, newSecret] });

    beforeAll(async () => {
      await rotated.start();
    });
    afterAll(async () => {
      await rotated.stop();
    });

    it('signs with both secrets while the old one is in its grace period', async () => {
      const sub = subscriptionFixture({
        endpoint: rotated.url,
        secret: newSecret,
        previousSecret: oldSecret,
        previousSecretExpiresAt: new Date(Date.now() + 24 * 3_600_000),
      });
      expect((await adapter.send(notificationRequest(sub))).result).toBe('delivered');
      const got = await rotated.next();
      expect(got.verifiedWith).toEqual([oldSecret, newSecret]);
      expect(got.headers['webhook-signature'].split(' ')).toHaveLength(2);
    });

    it('signs with the new secret only once the grace period is over', async () => {
      const sub = subscriptionFixture({
        endpoint: rotated.url,
        secret: newSecret,
        previousSecret: oldSecret,
        previousSecretExpiresAt: new Date(Date.now() - 1_000),
      });
      expect((await adapter.send(notificationRequest(sub))).result).toBe('delivered');
      const got = await rotated.next();
      expect(got.verifiedWith).toEqual([newSecret]);
      expect(got.headers['webhook-signature'].split(' ')).toHaveLength(1);
    });
  });

  describe('classifies the receiver answer', () => {
    const sendAnswered = async (
      answer: Parameters<WebhookReceiver['reply']>[0],
    ): Promise<DeliveryOutcome> => {
      receiver.reply(answer);
      const outcome = await adapter.send(notificationRequest(subscription()));
      await receiver.next();
      return outcome;
    };

    it.each([200, 201, 204])('%i → delivered', async (status) => {
      expect(await sendAnswered(status)).toMatchObject({ result: 'delivered', statusCode: status });
    });

    it.each([301, 302])('%i → failed, and the redirect is not followed', async (status) => {
      const before = receiver.requests.length;
      const outcome = await sendAnswered({
        status,
        headers: { location: receiver.urlFor('127.0.0.1', '/moved') },
      });
      expect(outcome).toMatchObject({
        result: 'failed',
        statusCode: status,
        error: `receiver answered ${status} (redirects are not followed)`,
      });
      expect(receiver.requests.length).toBe(before + 1);
    });

    it.each([400, 404, 422])('%i → failed without retries', async (status) => {
      expect(await sendAnswered(status)).toMatchObject({
        result: 'failed',
        statusCode: status,
        error: `receiver answered ${status}`,
      });
    });

    it('410 → failed and the subscription disabled', async () => {
      expect(await sendAnswered(410)).toMatchObject({ result: 'failed', statusCode: 410, action: 'disable' });
    });

    it.each([408, 425, 429, 500, 503])('%i → retry, honouring Retry-After in seconds', async (status) => {
      expect(await sendAnswered({ status, headers: { 'retry-after': '7' } })).toMatchObject({
        result: 'retry',
        statusCode: status,
        error: `receiver answered ${status}`,
        retryAfterMs: 7_000,
      });
    });

    it('503 → retry, honouring Retry-After as an HTTP date', async () => {
      const at = new Date(Date.now() + 3_600_000).toUTCString();
      const outcome = await sendAnswered({ status: 503, headers: { 'retry-after': at } });
      expect(outcome).toMatchObject({ result: 'retry', statusCode: 503 });
      const retryAfterMs = outcome.result === 'retry' ? outcome.retryAfterMs : undefined;
      expect(retryAfterMs).toBeGreaterThan(3_000_000);
      expect(retryAfterMs).toBeLessThanOrEqual(3_600_000);
    });

    it('500 without Retry-After → retry without a receiver delay', async () => {
      expect(await sendAnswered(500)).toMatchObject({
        result: 'retry',
        statusCode: 500,
        error: 'receiver answered 500',
      });
    });
  });

  it('retries when the receiver does not answer in time', async () => {
    const impatient = createOutboundHttp(httpConfig({ headersTimeoutMs: 200, bodyTimeoutMs: 200 }));
    try {
      receiver.reply('hang');
      const outcome = await new WebhookAdapter(impatient).send(notificationRequest(subscription()));
      expect((await receiver.next()).answeredWith).toBe('hang');
      expect(outcome).toMatchObject({ result: 'retry' });
      expect(outcome.result === 'retry' && outcome.error).toContain('UND_ERR_HEADERS_TIMEOUT');
    } finally {
      await impatient.close();
    }
  });

  it('retries when the connection is refused', async () => {
    const port = await freePort();
    const sub = subscriptionFixture({ endpoint: `http://127.0.0.1:${port}/`, secret });
    const outcome = await adapter.send(notificationRequest(sub));
    expect(outcome).toMatchObject({ result: 'retry' });
    expect(outcome.result === 'retry' && outcome.error).toContain('ECONNREFUSED');
  });
});

describe('WebhookAdapter and the SSRF guard', () => {
  const secret = generateSigningSecret();
  const receiver = new WebhookReceiver({ secrets: [secret], ipv6: true });
  let guarded: OutboundHttp;
  let allowed: OutboundHttp;

  beforeAll(async () => {
    await receiver.start();
    guarded = createOutboundHttp(httpConfig({ allowCidrs: [] }));
    allowed = createOutboundHttp(httpConfig({ allowCidrs: LOOPBACK }));
  });
  afterAll(async () => {
    await Promise.all([guarded.close(), allowed.close()]);
    await receiver.stop();
  });

  const loopbackHosts = ['127.0.0.1', 'localhost', '[::1]', '[::ffff:127.0.0.1]', '2130706433', '0x7f.1'];

  it.each(loopbackHosts)('refuses http://%s:<port>/ for good, without connecting', async (host) => {
    const before = { connections: receiver.connections, requests: receiver.requests.length };
    const sub = subscriptionFixture({ endpoint: receiver.urlFor(host), secret });
    const outcome = await new WebhookAdapter(guarded).send(notificationRequest(sub));
    expect(outcome).toMatchObject({ result: 'failed' });
    expect(outcome.result === 'failed' && outcome.error).toMatch(
      /^destination .* is not allowed \(.*loopback address\)$/,
    );
    expect(outcome.result === 'failed' && outcome.action).toBeUndefined();
    expect(receiver.connections).toBe(before.connections);
    expect(receiver.requests.length).toBe(before.requests);
  });

  it.each(['http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/', 'http://[fd00::1]/'])(
    'refuses %s even with loopback allowed',
    async (endpoint) => {
      const sub = subscriptionFixture({ endpoint, secret });
      for (const http of [guarded, allowed]) {
        const outcome = await new WebhookAdapter(http).send(notificationRequest(sub));
        expect(outcome).toMatchObject({ result: 'failed' });
        expect(outcome.result === 'failed' && outcome.error).toMatch(/^destination .* is not allowed/);
      }
    },
  );

  it.each(loopbackHosts)(
    'delivers to http://%s:<port>/ once loopback is in OUTBOUND_ALLOW_CIDRS',
    async (host) => {
      const sub = subscriptionFixture({ endpoint: receiver.urlFor(host), secret });
      const outcome = await new WebhookAdapter(allowed).send(notificationRequest(sub));
      const got = await receiver.next();
      expect(outcome).toMatchObject({ result: 'delivered', statusCode: 200 });
      expect(got.verified).toBe(true);
    },
  );
});
