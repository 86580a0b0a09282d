import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTopic, deliveryOf, publish, subscribe } from '../support/herald-api';
import { eventually, startHerald, type CatalogKind, type TestHerald } from '../support/herald';
import { expectDocumented } from '../support/openapi';
import { WebhookReceiver } from '../support/webhook-receiver';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked field by field
type Json = any;

/** What a developer looks at once messages flow (issue 11): lists, bodies, answers, resends, tests. */
describe.each<CatalogKind>(['sqlite', 'postgres'])('looking at messages (%s catalog)', (kind) => {
  let herald: TestHerald;
  let receiver: WebhookReceiver;
  let topicN = 0;

  beforeAll(async () => {
    herald = await startHerald(kind);
    receiver = await new WebhookReceiver().start();
  });
  afterAll(async () => {
    await receiver?.stop();
    await herald?.close();
  });
  beforeEach(() => {
    receiver.answerByDefault(200);
  });

  /** A topic with one active webhook subscription to the receiver. */
  async function subscribed(path = '/hook') {
    const topic = await createTopic(herald, `look-${kind}-${++topicN}`);
    const sub = await subscribe(herald, topic, {
      protocol: 'webhook',
      endpoint: receiver.urlFor('127.0.0.1', path),
      skipConfirmation: true,
      deliveryPolicy: { minDelayMs: 50, maxDelayMs: 200, maxAttempts: 3 },
    });
    return { topic, sub: sub as { id: string; secret: string } };
  }

  async function call(method: string, path: string, body?: unknown, key?: string) {
    const res = await herald.request(method, path, body, { key });
    await expectDocumented(herald, method, path, res);
    return res;
  }

  it("lists a topic's messages newest first with their status, paged, and only to keys of that topic", async () => {
    const { topic } = await subscribed('/list');
    const other = await createTopic(herald, `look-${kind}-${++topicN}`);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await publish(herald, topic, { body: { i }, subject: `n${i}` }));
    await publish(herald, other, { body: 'elsewhere' });
    for (const id of ids) await deliveryOf(herald, id, 'delivered');

    const first = await call('GET', `/v1/topics/${topic}/messages?limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.items.map((m: Json) => m.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.items[0]).toMatchObject({
      topic,
      subject: 'n2',
      status: 'delivered',
      counts: { matched: 1, delivered: 1 },
    });
    expect(first.body.items[0].body).toBeUndefined();
    expect(first.body.nextCursor).toBe(ids[1]);
    const second = await call('GET', `/v1/topics/${topic}/messages?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body).toEqual({ items: [expect.objectContaining({ id: ids[0] })], nextCursor: null });

    const key = async (topics: string[]) =>
      (await herald.request('POST', '/v1/api-keys', { name: 'reader', scopes: ['read'], topics })).body.key;
    expect((await call('GET', `/v1/topics/${topic}/messages`, undefined, await key([other]))).status).toBe(
      403,
    );
    const own = await call('GET', `/v1/topics/${topic}/messages`, undefined, await key([topic]));
    expect(own.body.items).toHaveLength(3);
    expect((await call('GET', '/v1/topics/no-such-topic/messages')).status).toBe(404);
    expect((await call('GET', `/v1/topics/${topic}/messages?limit=0`)).status).toBe(400);
  });

  it('shows the body of a message to a read key', async () => {
    const { topic } = await subscribed('/body');
    const id = await publish(herald, topic, {
      body: { orderId: 7, items: ['a'] },
      bodyByProtocol: { email: 'Order 7' },
    });
    const readKey = (await herald.request('POST', '/v1/api-keys', { name: 'r', scopes: ['read'] })).body.key;
    const res = await eventually(async () => {
      const r = await call('GET', `/v1/messages/${id}`, undefined, readKey);
      return r.body.status === 'delivered' ? r : undefined;
    }, 'the message delivered');
    expect(res.body).toMatchObject({
      body: { orderId: 7, items: ['a'] },
      bodyByProtocol: { email: 'Order 7' },
    });
  });

  it("records each attempt's answer: status, allow-listed headers and the first 4 KiB of the body", async () => {
    const { topic } = await subscribed('/answers');
    receiver.reply(
      {
        status: 500,
        headers: { 'content-type': 'text/plain', 'x-request-id': 'req-42', 'set-cookie': 'session=s3cret' },
        body: 'é'.repeat(3000), // 6000 bytes of UTF-8
      },
      { status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' },
    );
    const id = await publish(herald, topic, { body: 'answer me' });
    const delivery = await deliveryOf(herald, id, 'delivered');
    const [failed, delivered] = delivery.attempts as Json[];
    expect(failed.response).toMatchObject({
      statusCode: 500,
      headers: { 'content-type': 'text/plain', 'x-request-id': 'req-42' },
      bodyTruncated: true,
    });
    expect(Object.keys(failed.response.headers).sort()).toEqual(['content-type', 'x-request-id']);
    expect(Buffer.byteLength(failed.response.body)).toBeLessThanOrEqual(4096 + 2);
    expect(failed.response.body.startsWith('é'.repeat(2000))).toBe(true);
    expect(delivered.response).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"ok":true}',
      bodyTruncated: false,
    });
    await call('GET', `/v1/deliveries/${delivery.id}`);
  });

  it('resends a delivered message, numbering the attempt on; refuses what names nothing', async () => {
    const { topic, sub } = await subscribed('/resend');
    const id = await publish(herald, topic, { body: 'twice' });
    const before = receiver.requests.length;
    await deliveryOf(herald, id, 'delivered');
    const resent = await call('POST', `/v1/messages/${id}/resend`, { subscriptionId: sub.id });
    expect(resent.status).toBe(202);
    expect(resent.body).toEqual({ resent: 1 });
    const again = await eventually(async () => {
      const d = (await herald.request('GET', `/v1/messages/${id}/deliveries`)).body.items[0];
      return d.status === 'delivered' && d.run === 2 ? d : undefined;
    }, 'the resent delivery');
    expect(again).toMatchObject({ attemptCount: 2, lastAttempt: 2 });
    const received = receiver.requests.slice(before).filter((r) => r.path === '/resend');
    expect(received.map((r) => [r.headers['webhook-id'], r.headers['x-herald-attempt']])).toEqual([
      [id, '1'],
      [id, '2'],
    ]);
    // Without a subscription: every delivery of the message.
    expect((await call('POST', `/v1/messages/${id}/resend`)).body).toEqual({ resent: 1 });

    const other = 'sub_00000000000000000000000000';
    expect((await call('POST', `/v1/messages/${id}/resend`, { subscriptionId: other })).status).toBe(404);
    expect((await call('POST', '/v1/messages/msg_00000000000000000000000000/resend')).status).toBe(404);
    expect((await call('POST', `/v1/messages/${id}/resend`, { colour: 'red' })).status).toBe(400);
  });

  it('sends a signed test notification and answers what the receiver did, recording no delivery', async () => {
    const { sub } = await subscribed('/test');
    const before = receiver.requests.length;
    receiver.reply({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'got it' });
    const res = await call('POST', `/v1/subscriptions/${sub.id}/test`);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      outcome: 'delivered',
      statusCode: 200,
      error: null,
      response: { statusCode: 200, body: 'got it' },
    });
    const [req] = receiver.requests.slice(before);
    expect(() => new Webhook(sub.secret).verify(req.body, req.headers)).not.toThrow();
    expect(req.headers['webhook-id']).toBe(res.body.messageId);
    expect(req.headers['x-herald-message-type']).toBe('Notification');
    expect(JSON.parse(req.body)).toMatchObject({
      type: 'Notification',
      subscriptionId: sub.id,
      body: { test: true },
    });

    receiver.reply(503);
    const failing = await call('POST', `/v1/subscriptions/${sub.id}/test`);
    expect(failing.body).toMatchObject({
      outcome: 'failed',
      statusCode: 503,
      error: 'receiver answered 503',
    });
    expect((await herald.request('GET', `/v1/subscriptions/${sub.id}/deliveries`)).body.items).toEqual([]);
    expect((await call('POST', '/v1/subscriptions/sub_00000000000000000000000000/test')).status).toBe(404);
  });
});
