import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually, startHerald, type CatalogKind, type TestHerald } from '../support/herald';
import { WebhookReceiver, type ReceivedRequest } from '../support/webhook-receiver';

/** The official Standard Webhooks verifier must accept the request with the subscription's secret. */
function expectSigned(req: ReceivedRequest, secret: string): void {
  expect(() => new Webhook(secret).verify(req.body, req.headers)).not.toThrow();
  expect(() =>
    new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(req.body, req.headers),
  ).toThrow();
}

const FAST = { minDelayMs: 300, maxDelayMs: 5000 };

describe.each<CatalogKind>(['sqlite', 'postgres'])('webhook delivery end to end (%s catalog)', (kind) => {
  let herald: TestHerald;
  let receiver: WebhookReceiver;
  let topicN = 0;

  beforeAll(async () => {
    herald = await startHerald(kind);
  });
  afterAll(async () => {
    await herald?.close();
  });
  beforeEach(async () => {
    receiver = await new WebhookReceiver().start();
  });
  afterEach(async () => {
    await receiver.stop();
  });

  /** A topic with one active webhook subscription to the receiver (confirmed through the real handshake). */
  async function subscribed(deliveryPolicy: Record<string, unknown> = FAST, path = '/hook') {
    const topic = `t${++topicN}-${kind}`;
    expect(
      (await herald.request('POST', '/v1/topics', { name: topic, displayName: 'Test topic' })).status,
    ).toBe(201);
    const created = await herald.request('POST', `/v1/topics/${topic}/subscriptions`, {
      protocol: 'webhook',
      endpoint: receiver.urlFor('127.0.0.1', path),
      deliveryPolicy,
    });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('pending');
    expect(created.body.secret).toMatch(/^whsec_/);
    const secret = created.body.secret as string;
    const confirmation = await receiver.next();
    expectSigned(confirmation, secret);
    expect(confirmation.headers['x-herald-message-type']).toBe('SubscriptionConfirmation');
    const envelope = JSON.parse(confirmation.body);
    expect(envelope).toMatchObject({
      type: 'SubscriptionConfirmation',
      topic,
      subscriptionId: created.body.id,
    });
    const confirm = await fetch(envelope.confirmUrl, { headers: { accept: 'application/json' } });
    expect(confirm.status).toBe(200);
    const sub = await herald.request('GET', `/v1/subscriptions/${created.body.id}`);
    expect(sub.body.status).toBe('active');
    return { topic, sub: sub.body as { id: string }, secret };
  }

  async function publish(topic: string, body: unknown, extra: Record<string, unknown> = {}) {
    const res = await herald.request('POST', `/v1/topics/${topic}/messages`, { body, ...extra });
    expect(res.status).toBe(202);
    return res.body.messageId as string;
  }

  async function deliveryOf(messageId: string, status: string) {
    return eventually(async () => {
      const list = await herald.request('GET', `/v1/messages/${messageId}/deliveries`);
      const d = list.body?.items?.[0];
      if (!d || d.status !== status) return undefined;
      return (await herald.request('GET', `/v1/deliveries/${d.id}`)).body;
    }, `delivery of ${messageId} to be ${status}`);
  }

  it('delivers a signed notification that the standardwebhooks verifier accepts', async () => {
    const { topic, sub, secret } = await subscribed();
    const messageId = await publish(
      topic,
      { orderId: 42 },
      { subject: 'Order', attributes: { store: 'berlin' } },
    );
    const req = await receiver.next();
    expectSigned(req, secret);
    expect(req.headers['webhook-id']).toBe(messageId);
    expect(req.headers['x-herald-topic']).toBe(topic);
    expect(req.headers['x-herald-subscription-id']).toBe(sub.id);
    expect(req.headers['x-herald-attempt']).toBe('1');
    expect(JSON.parse(req.body)).toMatchObject({
      type: 'Notification',
      messageId,
      topic,
      subject: 'Order',
      body: { orderId: 42 },
      attributes: { store: 'berlin' },
      subscriptionId: sub.id,
    });
    const delivery = await deliveryOf(messageId, 'delivered');
    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0]).toMatchObject({ number: 1, outcome: 'delivered', statusCode: 200 });
    const message = await eventually(async () => {
      const m = await herald.request('GET', `/v1/messages/${messageId}`);
      return m.body?.counts?.delivered === 1 ? m.body : undefined;
    }, 'message counts');
    expect(message.counts).toMatchObject({ matched: 1, delivered: 1, pending: 0, failed: 0 });
  });

  it('retries 503, 503 then delivers on attempt 3 with growing gaps and the same webhook-id', async () => {
    const { topic, secret } = await subscribed();
    receiver.reply(503, 503, 200);
    const messageId = await publish(topic, 'retry me');
    const [a, b, c] = [await receiver.next(), await receiver.next(), await receiver.next()];
    for (const r of [a, b, c]) {
      expectSigned(r, secret);
      expect(r.headers['webhook-id']).toBe(messageId);
    }
    expect([a, b, c].map((r) => r.headers['x-herald-attempt'])).toEqual(['1', '2', '3']);
    const delivery = await deliveryOf(messageId, 'delivered');
    expect(
      delivery.attempts.map((x: { outcome: string; statusCode: number }) => [x.outcome, x.statusCode]),
    ).toEqual([
      ['retry', 503],
      ['retry', 503],
      ['delivered', 200],
    ]);
    const at = delivery.attempts.map((x: { at: string }) => Date.parse(x.at));
    // A retry never runs before its scheduled delay: 300 ms ±20 %, then 600 ms ±20 %.
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(240);
    expect(at[2] - at[1]).toBeGreaterThanOrEqual(480);
  });

  it('dead-letters after maxAttempts of 500s, and a redrive delivers it and clears the entry', async () => {
    const { topic, sub } = await subscribed({ ...FAST, minDelayMs: 50, maxAttempts: 3 });
    receiver.reply(500, 500, 500);
    const messageId = await publish(topic, { n: 1 });
    const delivery = await deliveryOf(messageId, 'dead');
    expect(delivery.attempts).toHaveLength(3);
    const dead = await eventually(async () => {
      const list = await herald.request('GET', `/v1/dead-letters?subscriptionId=${sub.id}`);
      return list.body.items.length === 1 ? list.body.items[0] : undefined;
    }, 'dead letter');
    expect(dead).toMatchObject({
      messageId,
      subscriptionId: sub.id,
      topic,
      protocol: 'webhook',
      attempts: 3,
      lastStatusCode: 500,
    });
    const detail = await herald.request('GET', `/v1/dead-letters/${dead.id}`);
    expect(detail.status).toBe(200);
    expect(detail.body.message.body).toEqual({ n: 1 });
    expect(detail.body.attempts).toHaveLength(3);

    expect((await herald.request('POST', `/v1/dead-letters/${dead.id}/redrive`)).status).toBe(202);
    const all = await receiver.waitFor(5); // confirmation, three failures, the redriven attempt
    expect(all.slice(1).map((r) => r.headers['webhook-id'])).toEqual([
      messageId,
      messageId,
      messageId,
      messageId,
    ]);
    expect(all[4].answeredWith).toBe(200);
    const after = await eventually(async () => {
      const d = (await herald.request('GET', `/v1/deliveries/${delivery.id}`)).body;
      return d.status === 'delivered' ? d : undefined;
    }, 'redriven delivery');
    expect(after.attempts).toHaveLength(4);
    const list = await herald.request('GET', `/v1/dead-letters?subscriptionId=${sub.id}`);
    expect(list.body.items).toHaveLength(0);
    expect((await herald.request('GET', `/v1/dead-letters/${dead.id}`)).status).toBe(404);
  });

  it('dead-letters a 400 after one attempt', async () => {
    const { topic } = await subscribed();
    receiver.reply(400);
    const messageId = await publish(topic, 'bad for receiver');
    await receiver.next();
    const delivery = await deliveryOf(messageId, 'dead');
    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0]).toMatchObject({ outcome: 'failed', statusCode: 400 });
  });

  it('disables the subscription on 410 Gone', async () => {
    const { topic, sub } = await subscribed();
    receiver.reply(410);
    const messageId = await publish(topic, 'gone');
    await receiver.next();
    await deliveryOf(messageId, 'dead');
    const after = await herald.request('GET', `/v1/subscriptions/${sub.id}`);
    expect(after.body.status).toBe('disabled');
  });

  it('fans one message out to 120 subscriptions (several delivery batches), each delivered once and recorded', async () => {
    const topic = `many-${kind}`;
    expect((await herald.request('POST', '/v1/topics', { name: topic })).status).toBe(201);
    const ids = new Set<string>();
    for (let i = 0; i < 120; i++) {
      const res = await herald.request('POST', `/v1/topics/${topic}/subscriptions`, {
        protocol: 'webhook',
        endpoint: receiver.urlFor('127.0.0.1', `/s${i}`),
        skipConfirmation: true,
      });
      expect(res.status).toBe(201);
      ids.add(res.body.id);
    }
    const messageId = await publish(topic, { fanout: true });
    const requests = await receiver.waitFor(120);
    expect(new Set(requests.map((r) => r.headers['x-herald-subscription-id']))).toEqual(ids);
    expect(requests.every((r) => r.headers['webhook-id'] === messageId)).toBe(true);
    const message = await eventually(async () => {
      const m = await herald.request('GET', `/v1/messages/${messageId}`);
      return m.body?.counts?.delivered === 120 ? m.body : undefined;
    }, '120 recorded deliveries');
    expect(message).toMatchObject({
      status: 'delivered',
      counts: { matched: 120, filteredOut: 0, pending: 0, failed: 0 },
    });
    expect(receiver.requests).toHaveLength(120);
  });

  it('holds a subscription to its throttlePerSecond without spending attempts', async () => {
    const { topic } = await subscribed({ ...FAST, throttlePerSecond: 2 });
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await publish(topic, { i }));
    await receiver.waitFor(1 + 5); // the confirmation, then the five messages
    const at: number[] = [];
    for (const id of ids) {
      const delivery = await deliveryOf(id, 'delivered');
      expect(delivery.attempts).toHaveLength(1);
      expect(delivery.attempts[0]).toMatchObject({ number: 1, outcome: 'delivered' });
      at.push(Date.parse(delivery.attempts[0].at));
    }
    // A bucket of 2 refilled at 2/s cannot pass 5 sends in less than 1.5 s (a lower bound, never flaky).
    expect(Math.max(...at) - Math.min(...at)).toBeGreaterThanOrEqual(1000);
    const arrivals = receiver.requests.slice(1).map((r) => r.headers['webhook-id']);
    expect(new Set(arrivals)).toEqual(new Set(ids));
  });

  it('publishes once per idempotency key', async () => {
    const { topic } = await subscribed();
    const first = await herald.request(
      'POST',
      `/v1/topics/${topic}/messages`,
      { body: 'once' },
      { headers: { 'idempotency-key': 'k-1' } },
    );
    const second = await herald.request(
      'POST',
      `/v1/topics/${topic}/messages`,
      { body: 'once' },
      { headers: { 'idempotency-key': 'k-1' } },
    );
    expect(first.body).toEqual({ messageId: expect.stringMatching(/^msg_/), duplicate: false });
    expect(second.body).toEqual({ messageId: first.body.messageId, duplicate: true });
    const third = await publish(topic, 'after');
    const r1 = await receiver.next();
    const r2 = await receiver.next();
    expect([r1, r2].map((r) => r.headers['webhook-id']).sort()).toEqual([first.body.messageId, third].sort());
    await deliveryOf(third, 'delivered');
    const deliveries = await herald.request('GET', `/v1/messages/${first.body.messageId}/deliveries`);
    expect(deliveries.body.items).toHaveLength(1);
  });
});
