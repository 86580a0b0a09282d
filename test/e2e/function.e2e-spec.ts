import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually, startHerald, type CatalogKind, type TestHerald } from '../support/herald';
import {
  expectEndpointRefused,
  createTopic,
  deliveryOf,
  publish,
  settledCounts,
  subscribe,
  subscriptionStatus,
} from '../support/herald-api';
import { LambdaServer } from '../support/lambda-server';
import { SmtpSink } from '../support/smtp-sink';
import { TwilioServer } from '../support/twilio-server';
import { WebhookReceiver, type ReceivedRequest } from '../support/webhook-receiver';

const FAST = { minDelayMs: 100, maxDelayMs: 1000 };
const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const arn = (name: string, qualifier?: string) =>
  `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}${qualifier ? `:${qualifier}` : ''}`;

/** The official Standard Webhooks verifier accepts the request with `secret` (and not with another one). */
function verified(req: ReceivedRequest, secret: string): unknown {
  const payload = new Webhook(secret).verify(req.body, req.headers);
  expect(() =>
    new Webhook(`whsec_${Buffer.alloc(32, 9).toString('base64')}`).verify(req.body, req.headers),
  ).toThrow();
  return payload;
}

describe.each<CatalogKind>(['sqlite', 'postgres'])('function invoke end to end (%s catalog)', (kind) => {
  let herald: TestHerald;
  let lambda: LambdaServer;
  let sink: SmtpSink;
  let twilio: TwilioServer;
  let receiver: WebhookReceiver;
  let topicN = 0;
  const topicName = (what: string) => `${what}-${++topicN}-${kind}`;

  beforeAll(async () => {
    lambda = await new LambdaServer().start();
    sink = await SmtpSink.start();
    twilio = await TwilioServer.start();
    herald = await startHerald(kind, {
      AWS_ACCESS_KEY_ID: lambda.accessKeyId,
      AWS_SECRET_ACCESS_KEY: lambda.secretAccessKey,
      LAMBDA_ENDPOINT_URL: lambda.url,
      SMTP_URL: sink.url(),
      EMAIL_FROM: 'Herald <herald@example.com>',
      TWILIO_ACCOUNT_SID: twilio.accountSid,
      TWILIO_AUTH_TOKEN: twilio.authToken,
      TWILIO_FROM: '+15005550006',
      TWILIO_API_BASE_URL: twilio.url,
      TWILIO_MESSAGES_PER_SECOND: '1000',
    });
  });
  afterAll(async () => {
    await herald?.close();
    await lambda?.stop();
    await sink?.stop();
    await twilio?.close();
  });
  beforeEach(async () => {
    receiver = await new WebhookReceiver().start();
  });
  afterEach(async () => {
    await receiver.stop();
  });

  it('an http(s) function is active at once and gets a signed CloudEvents 1.0 structured request', async () => {
    const topic = await createTopic(herald, topicName('orders'), 'Orders');
    const sub = await subscribe(herald, topic, {
      protocol: 'function',
      endpoint: receiver.urlFor('127.0.0.1', '/fn/orders'),
    });
    expect(sub.status).toBe('active');
    expect(sub.secret).toMatch(/^whsec_/);

    const messageId = await publish(herald, topic, {
      subject: 'Order placed',
      body: { orderId: 7 },
      bodyByProtocol: { function: { orderId: 7, forFunctions: true } },
      attributes: { store: 'berlin', priority: 2 },
    });
    const req = await receiver.next();
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/fn/orders');
    expect(req.headers['content-type']).toMatch(/^application\/cloudevents\+json(;|$)/);
    expect(req.headers['webhook-id']).toBe(messageId);
    expect(req.headers['x-herald-subscription-id']).toBe(sub.id);
    const event = JSON.parse(req.body);
    expect(verified(req, sub.secret)).toEqual(event);
    const message = (await herald.request('GET', `/v1/messages/${messageId}`)).body;
    expect(event).toEqual({
      specversion: '1.0',
      id: messageId,
      source: `${herald.url}/v1/topics/${topic}`,
      type: 'io.herald.notification',
      subject: 'Order placed',
      time: message.publishedAt,
      datacontenttype: 'application/json',
      data: {
        type: 'Notification',
        messageId,
        topic,
        subject: 'Order placed',
        body: { orderId: 7, forFunctions: true },
        attributes: { store: 'berlin', priority: 2 },
        publishedAt: message.publishedAt,
        subscriptionId: sub.id,
        unsubscribeUrl: expect.stringMatching(
          new RegExp(`^${herald.url.replace(/\./g, '\\.')}/v1/subscriptions/unsubscribe\\?token=`),
        ),
      },
    });
    expect(new Date(event.time).toISOString()).toBe(event.time);
    const delivery = await deliveryOf(herald, messageId, 'delivered', sub.id);
    expect(delivery.protocol).toBe('function');
    expect(delivery.attempts).toEqual([expect.objectContaining({ outcome: 'delivered', statusCode: 200 })]);
  });

  it('retries an http function that answers 500, with the same event id, then delivers', async () => {
    const topic = await createTopic(herald, topicName('flaky'));
    const sub = await subscribe(herald, topic, {
      protocol: 'function',
      endpoint: receiver.urlFor('127.0.0.1', '/fn'),
      deliveryPolicy: FAST,
    });
    receiver.reply(500, 503, 202);
    const messageId = await publish(herald, topic, { body: 'again' });
    const requests = [await receiver.next(), await receiver.next(), await receiver.next()];
    for (const r of requests) {
      expect(r.headers['webhook-id']).toBe(messageId);
      expect((verified(r, sub.secret) as { id: string }).id).toBe(messageId);
    }
    expect(requests.map((r) => r.headers['x-herald-attempt'])).toEqual(['1', '2', '3']);
    const delivery = await deliveryOf(herald, messageId, 'delivered', sub.id);
    expect(
      delivery.attempts.map((a: { outcome: string; statusCode: number }) => [a.outcome, a.statusCode]),
    ).toEqual([
      ['retry', 500],
      ['retry', 503],
      ['delivered', 202],
    ]);
  });

  it('invokes a Lambda ARN with the notification envelope through the signed Invoke API', async () => {
    const topic = await createTopic(herald, topicName('lambda'));
    const endpoint = arn(`orders-${kind}`);
    const sub = await subscribe(herald, topic, { protocol: 'function', endpoint });
    expect(sub).toMatchObject({ status: 'active', endpoint });
    const messageId = await publish(herald, topic, {
      subject: 'Invoice',
      body: { invoice: 'INV-1' },
      attributes: { kind: 'invoice' },
    });
    const call = await lambda.next();
    expect(call).toMatchObject({
      method: 'POST',
      functionName: endpoint,
      qualifier: null,
      invocationType: 'RequestResponse',
      signatureValid: true,
      problem: null,
      answeredWith: 200,
    });
    expect(call.credential).toMatchObject({
      accessKeyId: lambda.accessKeyId,
      region: REGION,
      service: 'lambda',
    });
    expect(JSON.parse(call.payload)).toEqual({
      type: 'Notification',
      messageId,
      topic,
      subject: 'Invoice',
      body: { invoice: 'INV-1' },
      attributes: { kind: 'invoice' },
      publishedAt: expect.any(String),
      subscriptionId: sub.id,
      unsubscribeUrl: expect.stringContaining('/v1/subscriptions/unsubscribe?token='),
    });
    const delivery = await deliveryOf(herald, messageId, 'delivered', sub.id);
    expect(delivery.attempts).toEqual([expect.objectContaining({ outcome: 'delivered', statusCode: 200 })]);
  });

  it('retries a Lambda function error (X-Amz-Function-Error) and delivers', async () => {
    const topic = await createTopic(herald, topicName('lambda-error'));
    const endpoint = arn(`flaky-${kind}`, 'live');
    const sub = await subscribe(herald, topic, { protocol: 'function', endpoint, deliveryPolicy: FAST });
    lambda.reply({ kind: 'functionError', errorType: 'TypeError', errorMessage: 'cannot read orderId' });
    const messageId = await publish(herald, topic, { body: { orderId: 8 } });
    const [failedCall, okCall] = [await lambda.next(), await lambda.next()];
    for (const call of [failedCall, okCall]) {
      expect(call).toMatchObject({
        functionName: arn(`flaky-${kind}`),
        qualifier: 'live',
        signatureValid: true,
      });
      expect(JSON.parse(call.payload)).toMatchObject({ messageId, body: { orderId: 8 } });
    }
    const delivery = await deliveryOf(herald, messageId, 'delivered', sub.id);
    expect(delivery.attempts).toHaveLength(2);
    expect(delivery.attempts[0]).toMatchObject({ outcome: 'retry', statusCode: 200 });
    expect(delivery.attempts[0].error).toContain('cannot read orderId');
    expect(delivery.attempts[1]).toMatchObject({ outcome: 'delivered', statusCode: 200 });
  });

  it('delivers one publish over every channel: webhook, email, SMS and function', async () => {
    const topic = await createTopic(herald, topicName('everything'), 'Everything');
    const webhook = await subscribe(herald, topic, {
      protocol: 'webhook',
      endpoint: receiver.urlFor('127.0.0.1', '/hook'),
      skipConfirmation: true,
    });
    const email = await subscribe(herald, topic, {
      protocol: 'email',
      endpoint: `ops.${kind}@example.com`,
      skipConfirmation: true,
    });
    const sms = await subscribe(herald, topic, { protocol: 'sms', endpoint: '+14155550199' });
    const fn = await subscribe(herald, topic, { protocol: 'function', endpoint: arn(`all-${kind}`) });
    for (const s of [webhook, email, sms, fn]) expect(s.status).toBe('active');

    const messageId = await publish(herald, topic, {
      subject: 'Deploy finished',
      body: { service: 'api', version: '1.2.3' },
      bodyByProtocol: { sms: 'api 1.2.3 deployed', email: 'The api service now runs 1.2.3.' },
    });

    const hook = await receiver.next();
    expect(hook.headers['webhook-id']).toBe(messageId);
    expect(verified(hook, webhook.secret)).toMatchObject({
      type: 'Notification',
      messageId,
      body: { service: 'api', version: '1.2.3' },
    });
    const mail = await eventually(
      async () => sink.messages.find((m) => m.parsed.headers.get('x-herald-message-id') === messageId),
      'the email',
    );
    expect(mail.envelope.to).toEqual([`ops.${kind}@example.com`]);
    expect(mail.parsed.subject).toBe('Deploy finished');
    expect(mail.parsed.text).toContain('The api service now runs 1.2.3.');
    const text = await eventually(
      async () => twilio.messages.find((m) => m.to === '+14155550199' && m.body === 'api 1.2.3 deployed'),
      'the SMS',
    );
    expect(text.from).toBe('+15005550006');
    const call = await lambda.next();
    expect(call.functionName).toBe(arn(`all-${kind}`));
    expect(JSON.parse(call.payload)).toMatchObject({ messageId, subscriptionId: fn.id });

    const counts = await settledCounts(herald, messageId);
    expect(counts).toMatchObject({ matched: 4, filteredOut: 0, delivered: 4, failed: 0 });
    const deliveries = await herald.request('GET', `/v1/messages/${messageId}/deliveries`);
    expect(deliveries.body.items.map((d: { protocol: string }) => d.protocol).sort()).toEqual([
      'email',
      'function',
      'sms',
      'webhook',
    ]);
  });
});

describe('function subscriptions: bad endpoints (sqlite, no AWS credentials)', () => {
  let herald: TestHerald;

  beforeAll(async () => {
    herald = await startHerald('sqlite');
    await createTopic(herald, 'fns');
  });
  afterAll(async () => herald?.close());

  it.each([
    'not a url',
    'ftp://example.com/fn',
    '/relative/fn',
    'javascript:alert(1)',
    'https://user:secret@example.com/fn',
    'arn:aws:lambda:eu-west-1:1234:function:short-account',
    'arn:aws:lambda:eu-west-1:123456789012:layer:not-a-function',
    'arn:aws:s3:::a-bucket',
    'arn:aws:lambda:eu-west-1:123456789012:function:',
    'arn:aws:lambda:eu-west-1:123456789012:function:has spaces',
  ])('answers 400 for %j and creates nothing', async (endpoint) => {
    const res = await expectEndpointRefused(herald, 'fns', 'function', endpoint);
    expect(JSON.stringify(res.body)).not.toContain('secret@');
  });

  it('refuses a well-formed Lambda ARN while the server has no AWS credentials', async () => {
    const res = await herald.request('POST', '/v1/topics/fns/subscriptions', {
      protocol: 'function',
      endpoint: arn('orders'),
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { field: 'endpoint', message: expect.stringContaining('AWS_ACCESS_KEY_ID') },
    ]);
    expect((await herald.request('GET', '/v1/topics/fns/subscriptions')).body.items).toEqual([]);
  });

  it('accepts an https function URL as given (no credentials needed) and starts it active', async () => {
    const sub = await subscribe(herald, 'fns', {
      protocol: 'function',
      endpoint: 'https://functions.example.com/api/orders?code=abc',
    });
    expect(sub).toMatchObject({
      status: 'active',
      endpoint: 'https://functions.example.com/api/orders?code=abc',
    });
    expect(await subscriptionStatus(herald, sub.id)).toBe('active');
  });
});
