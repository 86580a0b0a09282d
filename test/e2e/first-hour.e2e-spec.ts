import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopic, deadLettersOf, deliveryOf, publish, settledCounts } from '../support/herald-api';
import { eventually, startHerald, type CatalogKind, type TestHerald } from '../support/herald';
import { expectDocumented } from '../support/openapi';
import { WebhookReceiver } from '../support/webhook-receiver';

const FAST = { minDelayMs: 50, maxDelayMs: 200 };
const chosenSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

/** The traps of a developer's first hour with Herald (issue 11), on both catalogs. */
describe.each<CatalogKind>(['sqlite', 'postgres'])('the first hour (%s catalog)', (kind) => {
  let herald: TestHerald;
  let topicN = 0;
  const newTopic = () => createTopic(herald, `first-${kind}-${++topicN}`);

  beforeAll(async () => {
    // Only IPv4 loopback allowed: [::1] and other private literals stay refused.
    herald = await startHerald(kind, { OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8' });
  });
  afterAll(async () => herald?.close());

  async function get(path: string) {
    const res = await herald.request('GET', path);
    await expectDocumented(herald, 'GET', path, res);
    return res;
  }

  it('gives a message nobody received the status no_subscribers', async () => {
    const topic = await newTopic();
    const id = await publish(herald, topic, { body: 'anyone?' });
    await settledCounts(herald, id);
    const res = await get(`/v1/messages/${id}`);
    expect(res.body).toMatchObject({ status: 'no_subscribers', counts: { matched: 0, delivered: 0 } });
  });

  it.each([
    ['[::1]', 'loopback address'],
    ['10.1.2.3', 'private address'],
    ['169.254.169.254', 'cloud metadata address'],
  ])('refuses an endpoint at %s (%s) at once, naming OUTBOUND_ALLOW_CIDRS', async (host, reason) => {
    const topic = await newTopic();
    for (const protocol of ['webhook', 'function']) {
      const path = `/v1/topics/${topic}/subscriptions`;
      const res = await herald.request('POST', path, { protocol, endpoint: `http://${host}:8080/hook` });
      expect(res.status, res.text).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body.errors).toEqual([{ field: 'endpoint', message: expect.stringContaining(reason) }]);
      expect(res.body.detail).toContain('OUTBOUND_ALLOW_CIDRS');
      await expectDocumented(herald, 'POST', path, res);
    }
    expect((await herald.request('GET', `/v1/topics/${topic}/subscriptions`)).body.items).toEqual([]);
  });

  it('shows on a pending subscription why its confirmation failed, and clears it once one arrives', async () => {
    const receiver = await new WebhookReceiver().start();
    try {
      const topic = await newTopic();
      receiver.reply(503);
      const created = await herald.request('POST', `/v1/topics/${topic}/subscriptions`, {
        protocol: 'webhook',
        endpoint: receiver.urlFor('127.0.0.1', '/confirm-me'),
        deliveryPolicy: FAST,
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ lastConfirmationError: null, lastConfirmationErrorAt: null });
      const failed = await eventually(async () => {
        const s = (await get(`/v1/subscriptions/${created.body.id}`)).body;
        return s.lastConfirmationError ? s : undefined;
      }, 'the confirmation error on the subscription');
      expect(failed.status).toBe('pending');
      expect(failed.lastConfirmationError).toBe('attempt 1 of 5: receiver answered 503 (retrying)');
      expect(Date.parse(failed.lastConfirmationErrorAt)).toBeGreaterThan(
        Date.parse(created.body.createdAt) - 1,
      );
      await receiver.waitFor(2); // the retry gets the default 200
      await eventually(async () => {
        const s = (await get(`/v1/subscriptions/${created.body.id}`)).body;
        return s.lastConfirmationError === null && s.lastConfirmationErrorAt === null;
      }, 'the error to clear');
    } finally {
      await receiver.stop();
    }
  });

  it('signs with a secret the subscriber chose, so its receiver verifies the confirmation itself', async () => {
    const secret = chosenSecret();
    const receiver = await new WebhookReceiver({ secrets: [secret] }).start();
    try {
      const topic = await newTopic();
      const created = await herald.request('POST', `/v1/topics/${topic}/subscriptions`, {
        protocol: 'webhook',
        endpoint: receiver.urlFor('127.0.0.1', '/mine'),
        secret,
      });
      expect(created.status, created.text).toBe(201);
      expect(created.body.secret).toBe(secret);
      const confirmation = await receiver.next();
      expect(confirmation.verified).toBe(true);
      expect(confirmation.answeredWith).toBe(200);
    } finally {
      await receiver.stop();
    }
  });

  it.each([
    ['without the prefix', Buffer.alloc(32, 1).toString('base64')],
    ['too short (16 bytes)', `whsec_${Buffer.alloc(16, 1).toString('base64')}`],
    ['not base64', 'whsec_not-base64-at-all!!'],
  ])('refuses a chosen secret %s, creating nothing', async (_, secret) => {
    const topic = await newTopic();
    const path = `/v1/topics/${topic}/subscriptions`;
    const res = await herald.request('POST', path, {
      protocol: 'webhook',
      endpoint: 'https://example.com/hook',
      secret,
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: 'secret', message: expect.stringContaining('whsec_') }]);
    // The refusal never repeats the secret.
    expect(res.text).not.toContain(secret);
    expect((await herald.request('GET', path)).body.items).toEqual([]);
    const email = await herald.request('POST', path, {
      protocol: 'email',
      endpoint: 'reader@example.com',
      secret: chosenSecret(),
    });
    expect(email.status).toBe(400);
    expect(email.body.errors).toEqual([{ field: 'secret', message: 'email subscriptions are not signed' }]);
  });

  it('answers a second confirmation 200 "already confirmed", changing nothing', async () => {
    const receiver = await new WebhookReceiver().start();
    try {
      const topic = await newTopic();
      const created = await herald.request('POST', `/v1/topics/${topic}/subscriptions`, {
        protocol: 'webhook',
        endpoint: receiver.urlFor('127.0.0.1', '/twice'),
      });
      const { confirmUrl } = JSON.parse((await receiver.next()).body) as { confirmUrl: string };
      const path = new URL(confirmUrl).pathname + new URL(confirmUrl).search;
      const json = { headers: { accept: 'application/json' }, key: null };
      const first = await herald.request('GET', path, undefined, json);
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ id: created.body.id, status: 'active', alreadyConfirmed: false });
      await expectDocumented(herald, 'GET', path, first);
      const second = await herald.request('GET', path, undefined, json);
      expect(second.status).toBe(200);
      expect(second.body).toMatchObject({ status: 'active', alreadyConfirmed: true });
      expect(second.body.confirmedAt).toBe(first.body.confirmedAt);
      await expectDocumented(herald, 'GET', path, second);
      const page = await herald.request('GET', path, undefined, { key: null });
      expect(page.status).toBe(200);
      expect(page.text).toContain('confirmed already');
      // Once unsubscribed, the old link cannot bring the subscription back.
      const patch = await herald.request('DELETE', `/v1/subscriptions/${created.body.id}`);
      expect(patch.status).toBe(204);
      expect((await herald.request('GET', path, undefined, json)).status).toBe(404);
    } finally {
      await receiver.stop();
    }
  });

  it('numbers attempts as one story across a redrive; the exhausted last attempt says failed', async () => {
    const receiver = await new WebhookReceiver().start();
    try {
      const topic = await newTopic();
      const sub = await herald.request('POST', `/v1/topics/${topic}/subscriptions`, {
        protocol: 'webhook',
        endpoint: receiver.urlFor('127.0.0.1', '/redrive'),
        skipConfirmation: true,
        deliveryPolicy: { ...FAST, maxAttempts: 2 },
      });
      receiver.reply(500, 500);
      const id = await publish(herald, topic, { body: 'again' });
      const dead = await deliveryOf(herald, id, 'dead');
      expect(dead.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(['retry', 'failed']);
      expect(dead).toMatchObject({ run: 1, lastAttempt: 2, attemptCount: 2 });
      const [entry] = await deadLettersOf(herald, sub.body.id);
      expect((await herald.request('POST', `/v1/dead-letters/${entry.id}/redrive`)).status).toBe(202);
      const requests = await receiver.waitFor(3);
      expect(requests.map((r) => r.headers['x-herald-attempt'])).toEqual(['1', '2', '3']);
      const delivered = await deliveryOf(herald, id, 'delivered');
      expect(delivered).toMatchObject({ run: 2, lastAttempt: 3, attemptCount: 3 });
      expect(delivered.attempts.map((a: { number: number; run: number }) => [a.number, a.run])).toEqual([
        [1, 1],
        [2, 1],
        [3, 2],
      ]);
      const list = await get(`/v1/messages/${id}/deliveries`);
      expect(list.body.items[0]).toMatchObject({ lastAttempt: 3 });
    } finally {
      await receiver.stop();
    }
  });
});
