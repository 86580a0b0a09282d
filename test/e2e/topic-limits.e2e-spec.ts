import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHerald, type TestHerald } from '../support/herald';
import { createTopic, deadLettersOf, publish, subscribe } from '../support/herald-api';
import { expectDocumented } from '../support/openapi';
import { WebhookReceiver } from '../support/webhook-receiver';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked field by field
type Json = any;

/**
 * A topic-limited key, even an admin one, acts only on its topics, on every route: the attacks of
 * issue 8 ("a topic-limited admin key escapes its limit") each answer 403 and change nothing.
 */
describe('topic-limited API keys', () => {
  let herald: TestHerald;
  let receiver: WebhookReceiver;
  let limitedAdmin: string;
  let limitedAdminId: string;
  let otherKey: { id: string; key: string };
  const own = { topic: 'ta', sub: '', message: '', deadLetter: '' as string, delivery: '' };
  const foreign = { topic: 'tb', sub: '', message: '', deadLetter: '' as string, delivery: '' };

  async function as(key: string, method: string, path: string, body?: unknown) {
    return herald.request(method, path, body, { key });
  }

  async function expectForbidden(method: string, path: string, body?: unknown) {
    const res = await as(limitedAdmin, method, path, body);
    expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(403);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    return res;
  }

  beforeAll(async () => {
    receiver = await new WebhookReceiver().start();
    herald = await startHerald('sqlite');
    for (const side of [own, foreign]) {
      await createTopic(herald, side.topic);
      // A function endpoint is active at once; the receiver's 400 dead-letters the delivery at once.
      const sub = await subscribe(herald, side.topic, { protocol: 'function', endpoint: receiver.url });
      side.sub = sub.id;
      receiver.reply(400);
      side.message = await publish(herald, side.topic, { body: `for ${side.topic}` });
      const [dead] = await deadLettersOf(herald, side.sub);
      side.deadLetter = dead.id;
      side.delivery = dead.deliveryId;
    }
    const created = await herald.request('POST', '/v1/api-keys', {
      name: 'limited admin',
      scopes: ['admin'],
      topics: ['ta', 'tnew'],
    });
    expect(created.status).toBe(201);
    limitedAdmin = created.body.key;
    limitedAdminId = created.body.id;
    const other = await herald.request('POST', '/v1/api-keys', { name: 'other', scopes: ['read'] });
    otherKey = { id: other.body.id, key: other.body.key };
  });
  afterAll(async () => {
    await herald?.close();
    await receiver?.stop();
  });

  it('cannot mint an unlimited key, nor one for other topics or with scopes it lacks', async () => {
    const before = (await herald.request('GET', '/v1/api-keys?limit=1000')).body.items.length;
    await expectForbidden('POST', '/v1/api-keys', { name: 'x', scopes: ['admin'] });
    await expectForbidden('POST', '/v1/api-keys', { name: 'x', scopes: ['read'], topics: null });
    await expectForbidden('POST', '/v1/api-keys', { name: 'x', scopes: ['read'], topics: ['ta', 'tb'] });
    expect((await herald.request('GET', '/v1/api-keys?limit=1000')).body.items).toHaveLength(before);

    // Within its own topics it may delegate.
    const ok = await as(limitedAdmin, 'POST', '/v1/api-keys', {
      name: 'ta publisher',
      scopes: ['publish'],
      topics: ['ta'],
    });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ scopes: ['publish'], topics: ['ta'] });
    // And that key in turn cannot grant what it lacks.
    const publisher = ok.body.key as string;
    const res = await as(publisher, 'POST', '/v1/api-keys', {
      name: 'y',
      scopes: ['publish'],
      topics: ['ta'],
    });
    expect(res.status).toBe(403);
  });

  it('cannot list or delete API keys', async () => {
    await expectForbidden('GET', '/v1/api-keys');
    await expectForbidden('DELETE', `/v1/api-keys/${otherKey.id}`);
    await expectForbidden('DELETE', `/v1/api-keys/${limitedAdminId}`);
    expect((await as(otherKey.key, 'GET', '/v1/topics')).status).toBe(200);
  });

  it('creates topics only within its list, and lists only its topics', async () => {
    await expectForbidden('POST', '/v1/topics', { name: 'tc' });
    expect((await herald.request('GET', '/v1/topics/tc')).status).toBe(404);
    expect((await as(limitedAdmin, 'POST', '/v1/topics', { name: 'tnew' })).status).toBe(201);
    const first = await as(limitedAdmin, 'GET', '/v1/topics?limit=1');
    expect(first.body).toMatchObject({ items: [{ name: 'ta' }], nextCursor: 'ta' });
    const second = await as(limitedAdmin, 'GET', `/v1/topics?limit=1&cursor=${first.body.nextCursor}`);
    expect(second.body).toMatchObject({ items: [{ name: 'tnew' }], nextCursor: null });
  });

  it("cannot touch another topic's dead letters, and lists only its own in full pages", async () => {
    await expectForbidden('POST', `/v1/dead-letters/${foreign.deadLetter}/redrive`);
    await expectForbidden('POST', '/v1/dead-letters/redrive', { topic: 'tb' });
    await expectForbidden('DELETE', `/v1/dead-letters/${foreign.deadLetter}`);
    await expectForbidden('GET', `/v1/dead-letters/${foreign.deadLetter}`);
    await expectForbidden('GET', '/v1/dead-letters?topic=tb');
    // By subscription only: the query leaves tb's entries out, so nothing of tb is redriven.
    const bySub = await as(limitedAdmin, 'POST', '/v1/dead-letters/redrive', { subscriptionId: foreign.sub });
    expect(bySub.status).toBe(202);
    expect(bySub.body).toEqual({ redriven: 0 });
    expect((await as(limitedAdmin, 'GET', `/v1/dead-letters?subscriptionId=${foreign.sub}`)).body).toEqual({
      items: [],
      nextCursor: null,
    });
    const page = await as(limitedAdmin, 'GET', '/v1/dead-letters?limit=1');
    await expectDocumented(herald, 'GET', '/v1/dead-letters', page);
    expect(page.body.items.map((d: Json) => d.id)).toEqual([own.deadLetter]);
    expect(page.body.nextCursor).toBeNull();
    const all = await herald.request('GET', '/v1/dead-letters');
    expect(all.body.items.map((d: Json) => d.id).sort()).toEqual([own.deadLetter, foreign.deadLetter].sort());
  });

  it("cannot read or change another topic's subscriptions, messages or deliveries", async () => {
    const forbidden: Array<[string, string, unknown?]> = [
      ['GET', `/v1/topics/tb`],
      ['PATCH', `/v1/topics/tb`, { description: 'mine now' }],
      ['DELETE', `/v1/topics/tb`],
      ['GET', `/v1/topics/tb/subscriptions`],
      ['POST', `/v1/topics/tb/subscriptions`, { protocol: 'function', endpoint: receiver.url }],
      ['POST', `/v1/topics/tb/messages`, { body: 'x' }],
      ['POST', `/v1/topics/tb/messages/batch`, { messages: [{ body: 'x' }] }],
      ['POST', `/v1/topics/tb/messages/dry-run`, { body: 'x' }],
      ['GET', `/v1/subscriptions/${foreign.sub}`],
      ['PATCH', `/v1/subscriptions/${foreign.sub}`, { status: 'paused' }],
      ['DELETE', `/v1/subscriptions/${foreign.sub}`],
      ['POST', `/v1/subscriptions/${foreign.sub}/confirmation`],
      ['POST', `/v1/subscriptions/${foreign.sub}/secret/rotate`],
      ['GET', `/v1/subscriptions/${foreign.sub}/deliveries`],
      ['GET', `/v1/messages/${foreign.message}`],
      ['GET', `/v1/messages/${foreign.message}/deliveries`],
      ['GET', `/v1/deliveries/${foreign.delivery}`],
    ];
    for (const [method, path, body] of forbidden) {
      await expectDocumented(herald, method, path, await expectForbidden(method, path, body));
    }
    const sub = await herald.request('GET', `/v1/subscriptions/${foreign.sub}`);
    expect(sub.body.status).toBe('active');
    expect((await herald.request('GET', '/v1/topics/tb')).body.description).toBeNull();

    // Its own topic's resources it reaches on the same routes.
    for (const path of [
      `/v1/subscriptions/${own.sub}`,
      `/v1/messages/${own.message}`,
      `/v1/deliveries/${own.delivery}`,
      `/v1/dead-letters/${own.deadLetter}`,
    ]) {
      const res = await as(limitedAdmin, 'GET', path);
      expect(res.status, path).toBe(200);
      await expectDocumented(herald, 'GET', path, res);
    }
  });

  it('holds a non-admin key to its topics too', async () => {
    const created = await herald.request('POST', '/v1/api-keys', {
      name: 'reader',
      scopes: ['read', 'publish'],
      topics: ['ta'],
    });
    const key = created.body.key as string;
    expect((await as(key, 'POST', '/v1/topics/tb/messages', { body: 1 })).status).toBe(403);
    expect((await as(key, 'GET', `/v1/messages/${foreign.message}`)).status).toBe(403);
    expect((await as(key, 'GET', '/v1/dead-letters')).body.items.map((d: Json) => d.id)).toEqual([
      own.deadLetter,
    ]);
    expect((await as(key, 'POST', '/v1/topics/ta/messages', { body: 1 })).status).toBe(202);
  });
});
