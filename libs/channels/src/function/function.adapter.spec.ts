import type { LambdaConfig } from '@herald/config';
import { generateSigningSecret, notificationEnvelope } from '@herald/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  confirmationRequest,
  messageFixture,
  notificationRequest,
  subscriptionFixture,
} from '../../../../test/support/delivery-requests';
import { LambdaServer } from '../../../../test/support/lambda-server';
import { freePort } from '../../../../test/support/servers';
import { WebhookReceiver } from '../../../../test/support/webhook-receiver';
import { createOutboundHttp, type OutboundHttp, type OutboundHttpConfig } from '../http/outbound-http';
import { FunctionAdapter } from './function.adapter';
import { parseLambdaArn } from './lambda-arn';
import { LambdaInvoker } from './lambda-invoker';

const PUBLIC_BASE_URL = 'https://herald.example.com';
const ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:orders-handler';

const httpConfig = (overrides: Partial<OutboundHttpConfig> = {}): OutboundHttpConfig => ({
  connectTimeoutMs: 2_000,
  headersTimeoutMs: 5_000,
  bodyTimeoutMs: 5_000,
  connectionsPerOrigin: 4,
  allowCidrs: ['127.0.0.0/8'],
  ...overrides,
});

const noCredentials: LambdaConfig = {
  accessKeyId: null,
  secretAccessKey: null,
  sessionToken: null,
  endpoint: null,
};
const timeouts = { connectTimeoutMs: 2_000, requestTimeoutMs: 5_000 };

describe('parseLambdaArn', () => {
  it.each([
    [
      ARN,
      {
        functionArn: ARN,
        region: 'eu-west-1',
        accountId: '123456789012',
        functionName: 'orders-handler',
        qualifier: null,
      },
    ],
    [
      `${ARN}:live`,
      {
        functionArn: ARN,
        region: 'eu-west-1',
        accountId: '123456789012',
        functionName: 'orders-handler',
        qualifier: 'live',
      },
    ],
    [`${ARN}:$LATEST`, expect.objectContaining({ functionArn: ARN, qualifier: '$LATEST' })],
    [`${ARN}:7`, expect.objectContaining({ qualifier: '7' })],
    [
      'arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f_1',
      expect.objectContaining({ region: 'us-gov-west-1', functionName: 'f_1' }),
    ],
  ])('parses %s', (arn, expected) => {
    expect(parseLambdaArn(arn)).toEqual(expected);
  });

  it.each([
    'arn:aws:lambda:eu-west-1:12345678901:function:short-account',
    'arn:aws:lambda:eu-west-1:123456789012:function:',
    `arn:aws:lambda:eu-west-1:123456789012:function:${'f'.repeat(65)}`,
    'arn:aws:lambda:eu-west-1:123456789012:layer:my-layer',
    'arn:aws:s3:::bucket',
    'arn:aws:lambda:EU-WEST-1:123456789012:function:upper-region',
    `${ARN}:live:extra`,
    `${ARN}:bad.alias`,
  ])('refuses %s', (arn) => {
    expect(parseLambdaArn(arn)).toBeNull();
  });
});

describe('FunctionAdapter.checkEndpoint', () => {
  const http = createOutboundHttp(httpConfig());
  const withCredentials = new FunctionAdapter({
    http,
    lambda: new LambdaInvoker(
      { ...noCredentials, accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-real-secret' },
      timeouts,
    ),
    publicBaseUrl: PUBLIC_BASE_URL,
  });
  const withoutCredentials = new FunctionAdapter({
    http,
    lambda: new LambdaInvoker(noCredentials, timeouts),
    publicBaseUrl: PUBLIC_BASE_URL,
  });

  afterAll(async () => {
    await http.close();
  });

  it.each([
    ['https://fn.example.com/invoke', 'https://fn.example.com/invoke'],
    ['HTTP://FN.example.com', 'http://fn.example.com/'],
    [ARN, ARN],
    [`${ARN}:live`, `${ARN}:live`],
  ])('accepts %s', (endpoint, normalised) => {
    expect(withCredentials.checkEndpoint(endpoint)).toEqual({ ok: true, endpoint: normalised });
  });

  it.each([
    ['arn:aws:lambda:eu-west-1:123:function:x', 'Lambda function ARN'],
    ['arn:aws:sqs:eu-west-1:123456789012:queue', 'Lambda function ARN'],
    ['orders-handler', 'Lambda function ARN'],
    ['ftp://fn.example.com/', 'Lambda function ARN'],
    ['https://user:secret@fn.example.com/', 'must not contain credentials'],
  ])('refuses %s', (endpoint, message) => {
    const check = withCredentials.checkEndpoint(endpoint);
    expect(check.ok).toBe(false);
    expect(check.ok === false && check.message).toContain(message);
  });

  it('refuses a Lambda ARN when no AWS credentials are configured, but not a URL', () => {
    const check = withoutCredentials.checkEndpoint(ARN);
    expect(check.ok).toBe(false);
    expect(check.ok === false && check.message).toContain('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
    expect(withoutCredentials.checkEndpoint('https://fn.example.com/').ok).toBe(true);
  });

  it('is always available', () => {
    expect(withoutCredentials.availability()).toEqual({ available: true });
  });
});

describe('FunctionAdapter over HTTP (CloudEvents)', () => {
  const secret = generateSigningSecret();
  const receiver = new WebhookReceiver({ secrets: [secret] });
  let http: OutboundHttp;
  let adapter: FunctionAdapter;

  beforeAll(async () => {
    await receiver.start();
    http = createOutboundHttp(httpConfig());
    adapter = new FunctionAdapter({
      http,
      lambda: new LambdaInvoker(noCredentials, timeouts),
      publicBaseUrl: PUBLIC_BASE_URL,
    });
  });
  afterAll(async () => {
    await adapter.close();
    await http.close();
    await receiver.stop();
  });

  const subscription = (overrides = {}) =>
    subscriptionFixture({
      protocol: 'function',
      endpoint: receiver.urlFor('127.0.0.1', '/fn'),
      secret,
      ...overrides,
    });

  it('POSTs a signed structured-mode CloudEvent carrying the notification envelope', async () => {
    const sub = subscription();
    const request = notificationRequest(sub, undefined, 2);
    const outcome = await adapter.send(request);
    const got = await receiver.next();

    expect(outcome).toMatchObject({ result: 'delivered', statusCode: 200 });
    expect(got.verified).toBe(true);
    expect(got.headers).toMatchObject({
      'content-type': 'application/cloudevents+json; charset=utf-8',
      'webhook-id': request.message.id,
      'x-herald-topic': 'orders',
      'x-herald-subscription-id': sub.id,
      'x-herald-message-type': 'Notification',
      'x-herald-attempt': '2',
    });
    expect(JSON.parse(got.body)).toEqual({
      specversion: '1.0',
      id: request.message.id,
      source: 'https://herald.example.com/v1/topics/orders',
      type: 'io.herald.notification',
      subject: 'Order placed',
      time: request.message.publishedAt,
      datacontenttype: 'application/json',
      data: notificationEnvelope(request.message, sub, request.unsubscribeUrl),
    });
  });

  it('leaves out subject when the message has none, and sends a raw string as text/plain data', async () => {
    const sub = subscription({ rawDelivery: true });
    const message = messageFixture({
      subject: null,
      body: 'generic',
      bodyByProtocol: { function: 'for functions' },
    });
    expect((await adapter.send(notificationRequest(sub, message))).result).toBe('delivered');
    const event = JSON.parse((await receiver.next()).body);
    expect(event).not.toHaveProperty('subject');
    expect(event).toMatchObject({ datacontenttype: 'text/plain; charset=utf-8', data: 'for functions' });
  });

  it('sends a confirmation as an io.herald.subscription.confirmation event', async () => {
    const sub = subscription();
    const request = confirmationRequest(sub);
    expect((await adapter.send(request)).result).toBe('delivered');
    const got = await receiver.next();
    expect(got.verified).toBe(true);
    expect(got.headers['x-herald-message-type']).toBe('SubscriptionConfirmation');
    expect(JSON.parse(got.body)).toMatchObject({
      specversion: '1.0',
      id: request.messageId,
      type: 'io.herald.subscription.confirmation',
      datacontenttype: 'application/json',
      data: { type: 'SubscriptionConfirmation', token: request.token, confirmUrl: request.confirmUrl },
    });
  });

  it.each([
    [503, 'retry'],
    [429, 'retry'],
    [404, 'failed'],
    [302, 'failed'],
  ] as const)('classifies %i like a webhook (%s)', async (status, result) => {
    receiver.reply(status);
    const outcome = await adapter.send(notificationRequest(subscription()));
    await receiver.next();
    expect(outcome).toMatchObject({ result, statusCode: status });
  });

  it('is held by the SSRF guard', async () => {
    const guarded = createOutboundHttp(httpConfig({ allowCidrs: [] }));
    try {
      const before = receiver.connections;
      const outcome = await new FunctionAdapter({
        http: guarded,
        lambda: new LambdaInvoker(noCredentials, timeouts),
        publicBaseUrl: PUBLIC_BASE_URL,
      }).send(notificationRequest(subscription()));
      expect(outcome).toMatchObject({
        result: 'failed',
        error: 'destination 127.0.0.1 is not allowed (loopback address)',
      });
      expect(receiver.connections).toBe(before);
    } finally {
      await guarded.close();
    }
  });
});

describe('FunctionAdapter with a Lambda ARN', () => {
  const lambdaServer = new LambdaServer();
  const sessionToken = 'session-token-for-tests';
  let http: OutboundHttp;
  let adapter: FunctionAdapter;

  const lambdaConfig = (overrides: Partial<LambdaConfig> = {}): LambdaConfig => ({
    accessKeyId: lambdaServer.accessKeyId,
    secretAccessKey: lambdaServer.secretAccessKey,
    sessionToken,
    endpoint: lambdaServer.url,
    ...overrides,
  });

  beforeAll(async () => {
    await lambdaServer.start();
    // No allow-list: the operator-configured Lambda endpoint is not subject to the SSRF guard.
    http = createOutboundHttp(httpConfig({ allowCidrs: [] }));
    adapter = new FunctionAdapter({
      http,
      lambda: new LambdaInvoker(lambdaConfig(), timeouts),
      publicBaseUrl: PUBLIC_BASE_URL,
    });
  });
  afterAll(async () => {
    await adapter.close();
    await http.close();
    await lambdaServer.stop();
  });

  const subscription = (endpoint = `${ARN}:live`, overrides = {}) =>
    subscriptionFixture({ protocol: 'function', endpoint, ...overrides });

  it('invokes the function synchronously with a SigV4-signed request carrying the envelope', async () => {
    const sub = subscription();
    const request = notificationRequest(sub);
    const outcome = await adapter.send(request);
    const invocation = await lambdaServer.next();

    expect(outcome).toEqual({ result: 'delivered', statusCode: 200 });
    expect(invocation).toMatchObject({
      method: 'POST',
      functionName: ARN,
      qualifier: 'live',
      invocationType: 'RequestResponse',
      signatureValid: true,
      sessionToken,
      problem: null,
      credential: {
        accessKeyId: lambdaServer.accessKeyId,
        region: 'eu-west-1',
        service: 'lambda',
        date: expect.stringMatching(/^\d{8}$/),
      },
    });
    expect(invocation.path).toMatch(/^\/2015-03-31\/functions\/[^/]+\/invocations\?Qualifier=live$/);
    expect(invocation.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=\w+\/\d{8}\/eu-west-1\/lambda\/aws4_request, ?SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, ?Signature=[0-9a-f]{64}$/,
    );
    expect(invocation.signedHeaders).toEqual(
      expect.arrayContaining(['host', 'x-amz-date', 'x-amz-security-token']),
    );
    expect(JSON.parse(invocation.payload)).toEqual(
      notificationEnvelope(request.message, sub, request.unsubscribeUrl),
    );
  });

  it('invokes an unqualified ARN without a Qualifier', async () => {
    expect((await adapter.send(notificationRequest(subscription(ARN)))).result).toBe('delivered');
    const invocation = await lambdaServer.next();
    expect(invocation).toMatchObject({ functionName: ARN, qualifier: null, signatureValid: true });
  });

  it('sends a confirmation envelope as the payload', async () => {
    const request = confirmationRequest(subscription());
    expect((await adapter.send(request)).result).toBe('delivered');
    expect(JSON.parse((await lambdaServer.next()).payload)).toMatchObject({
      type: 'SubscriptionConfirmation',
      token: request.token,
    });
  });

  it('retries when the function itself fails (X-Amz-Function-Error)', async () => {
    lambdaServer.reply({
      kind: 'functionError',
      errorType: 'TypeError',
      errorMessage: `boom ${'x'.repeat(1000)}`,
    });
    const outcome = await adapter.send(notificationRequest(subscription()));
    await lambdaServer.next();
    expect(outcome).toMatchObject({ result: 'retry', statusCode: 200 });
    const error = outcome.result === 'retry' ? outcome.error : '';
    expect(error).toMatch(/^function error \(Unhandled\): TypeError: boom x+…$/);
    expect(error.length).toBeLessThanOrEqual(300);
  });

  it('fails for good when the function does not exist (404 ResourceNotFoundException)', async () => {
    lambdaServer.reply({
      kind: 'error',
      status: 404,
      type: 'ResourceNotFoundException',
      message: `Function not found: ${ARN}`,
    });
    const outcome = await adapter.send(notificationRequest(subscription()));
    await lambdaServer.next();
    expect(outcome).toEqual({
      result: 'failed',
      statusCode: 404,
      error: `ResourceNotFoundException: Function not found: ${ARN}`,
    });
  });

  it('retries when throttled (429 TooManyRequestsException), honouring Retry-After', async () => {
    lambdaServer.reply({
      kind: 'error',
      status: 429,
      type: 'TooManyRequestsException',
      message: 'Rate Exceeded.',
      retryAfterSeconds: 3,
    });
    const outcome = await adapter.send(notificationRequest(subscription()));
    await lambdaServer.next();
    expect(outcome).toEqual({
      result: 'retry',
      statusCode: 429,
      error: 'TooManyRequestsException: Rate Exceeded.',
      retryAfterMs: 3_000,
    });
  });

  it.each([
    [500, 'ServiceException', 'retry'],
    [409, 'ResourceConflictException', 'retry'],
    [403, 'AccessDeniedException', 'failed'],
  ] as const)('%i %s → %s', async (status, type, result) => {
    lambdaServer.reply({ kind: 'error', status, type, message: 'scripted' });
    const outcome = await adapter.send(notificationRequest(subscription()));
    await lambdaServer.next();
    expect(outcome).toMatchObject({ result, statusCode: status, error: `${type}: scripted` });
  });

  it('retries when the function does not answer within the request timeout', async () => {
    const impatient = new FunctionAdapter({
      http,
      lambda: new LambdaInvoker(lambdaConfig(), { connectTimeoutMs: 1_000, requestTimeoutMs: 200 }),
      publicBaseUrl: PUBLIC_BASE_URL,
    });
    try {
      lambdaServer.reply({ kind: 'hang' });
      const outcome = await impatient.send(notificationRequest(subscription()));
      expect((await lambdaServer.next()).answeredWith).toBe(0);
      expect(outcome).toMatchObject({ result: 'retry' });
      expect(outcome.result === 'retry' && outcome.error).toMatch(/timeout|timed out/i);
    } finally {
      await impatient.close();
    }
  });

  it('fails for good when the signature does not match, without revealing the secret', async () => {
    const wrongSecret = 'wrong-secret-value-0123456789';
    const wrong = new FunctionAdapter({
      http,
      lambda: new LambdaInvoker(lambdaConfig({ secretAccessKey: wrongSecret }), timeouts),
      publicBaseUrl: PUBLIC_BASE_URL,
    });
    try {
      const outcome = await wrong.send(notificationRequest(subscription()));
      const invocation = await lambdaServer.next();
      expect(invocation.signatureValid).toBe(false);
      expect(outcome).toMatchObject({ result: 'failed', statusCode: 403 });
      expect(JSON.stringify(outcome)).not.toContain(wrongSecret);
    } finally {
      await wrong.close();
    }
  });

  it('retries when the Lambda endpoint refuses the connection', async () => {
    const closed = new FunctionAdapter({
      http,
      lambda: new LambdaInvoker(lambdaConfig({ endpoint: `http://127.0.0.1:${await freePort()}` }), timeouts),
      publicBaseUrl: PUBLIC_BASE_URL,
    });
    try {
      const outcome = await closed.send(notificationRequest(subscription()));
      expect(outcome).toMatchObject({ result: 'retry' });
      expect(outcome.result === 'retry' && outcome.error).toContain('ECONNREFUSED');
    } finally {
      await closed.close();
    }
  });

  it('fails for good when the ARN is used without credentials configured', async () => {
    const bare = new FunctionAdapter({
      http,
      lambda: new LambdaInvoker(noCredentials, timeouts),
      publicBaseUrl: PUBLIC_BASE_URL,
    });
    const before = lambdaServer.invocations.length;
    expect(await bare.send(notificationRequest(subscription()))).toEqual({
      result: 'failed',
      error: 'AWS credentials are not configured (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)',
    });
    expect(lambdaServer.invocations.length).toBe(before);
  });
});
