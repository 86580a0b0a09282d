import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHerald, type TestHerald } from '../support/herald';
import { expectDocumented } from '../support/openapi';

/** Every route with a sample call and the scope it needs. */
const ROUTES: Array<{
  method: string;
  path: string;
  scope: 'admin' | 'publish' | 'subscribe' | 'read';
  body?: unknown;
}> = [
  { method: 'POST', path: '/v1/api-keys', scope: 'admin', body: { name: 'x', scopes: ['read'] } },
  { method: 'GET', path: '/v1/api-keys', scope: 'admin' },
  { method: 'DELETE', path: '/v1/api-keys/key_00000000000000000000000000', scope: 'admin' },
  { method: 'POST', path: '/v1/topics', scope: 'admin', body: { name: 'scoped' } },
  { method: 'GET', path: '/v1/topics', scope: 'read' },
  { method: 'GET', path: '/v1/topics/scoped', scope: 'read' },
  { method: 'PATCH', path: '/v1/topics/scoped', scope: 'admin', body: { description: 'd' } },
  { method: 'DELETE', path: '/v1/topics/nope', scope: 'admin' },
  {
    method: 'POST',
    path: '/v1/topics/scoped/subscriptions',
    scope: 'subscribe',
    body: { protocol: 'webhook', endpoint: 'https://example.com/h' },
  },
  { method: 'GET', path: '/v1/topics/scoped/subscriptions', scope: 'read' },
  { method: 'GET', path: '/v1/subscriptions/sub_00000000000000000000000000', scope: 'read' },
  {
    method: 'PATCH',
    path: '/v1/subscriptions/sub_00000000000000000000000000',
    scope: 'subscribe',
    body: { rawDelivery: true },
  },
  { method: 'DELETE', path: '/v1/subscriptions/sub_00000000000000000000000000', scope: 'subscribe' },
  {
    method: 'POST',
    path: '/v1/subscriptions/sub_00000000000000000000000000/confirmation',
    scope: 'subscribe',
  },
  {
    method: 'POST',
    path: '/v1/subscriptions/sub_00000000000000000000000000/secret/rotate',
    scope: 'subscribe',
  },
  { method: 'GET', path: '/v1/subscriptions/sub_00000000000000000000000000/deliveries', scope: 'read' },
  { method: 'POST', path: '/v1/topics/scoped/messages', scope: 'publish', body: { body: 'x' } },
  {
    method: 'POST',
    path: '/v1/topics/scoped/messages/batch',
    scope: 'publish',
    body: { messages: [{ body: 'x' }] },
  },
  { method: 'POST', path: '/v1/topics/scoped/messages/dry-run', scope: 'publish', body: { body: 'x' } },
  { method: 'GET', path: '/v1/messages/msg_00000000000000000000000000', scope: 'read' },
  { method: 'GET', path: '/v1/messages/msg_00000000000000000000000000/deliveries', scope: 'read' },
  {
    method: 'GET',
    path: '/v1/deliveries/dlv_0000000000000000000000000000000000000000000000000000',
    scope: 'read',
  },
  { method: 'GET', path: '/v1/dead-letters', scope: 'read' },
  { method: 'GET', path: '/v1/dead-letters/dlq_00000000000000000000000000', scope: 'read' },
  { method: 'POST', path: '/v1/dead-letters/dlq_00000000000000000000000000/redrive', scope: 'admin' },
  { method: 'POST', path: '/v1/dead-letters/redrive', scope: 'admin', body: { topic: 'scoped' } },
  { method: 'DELETE', path: '/v1/dead-letters/dlq_00000000000000000000000000', scope: 'admin' },
];

const SCOPES = ['admin', 'publish', 'subscribe', 'read'] as const;

describe('API contract: auth, scopes and bad input', () => {
  let herald: TestHerald;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    herald = await startHerald('sqlite');
    expect((await herald.request('POST', '/v1/topics', { name: 'scoped' })).status).toBe(201);
    expect((await herald.request('POST', '/v1/topics', { name: 'other' })).status).toBe(201);
    for (const scope of SCOPES) {
      const res = await herald.request('POST', '/v1/api-keys', { name: scope, scopes: [scope] });
      expect(res.status).toBe(201);
      expect(res.body.key).toMatch(/^hk_/);
      keys[scope] = res.body.key;
    }
    const limited = await herald.request('POST', '/v1/api-keys', {
      name: 'limited',
      scopes: ['publish', 'read'],
      topics: ['other'],
    });
    keys.limited = limited.body.key;
  });
  afterAll(async () => herald?.close());

  it.each(ROUTES)('$method $path needs a valid key', async (route) => {
    const none = await herald.request(route.method, route.path, route.body, { key: null });
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toContain('application/problem+json');
    await expectDocumented(herald, route.method, route.path, none);
    const bogus = await herald.request(route.method, route.path, route.body, { key: 'hk_not-a-real-key' });
    expect(bogus.status).toBe(401);
  });

  it.each(ROUTES.flatMap((r) => SCOPES.filter((s) => s !== 'admin').map((s) => ({ ...r, as: s }))))(
    '$method $path as a "$as" key',
    async (route) => {
      const res = await herald.request(route.method, route.path, route.body, { key: keys[route.as] });
      if (route.scope === route.as) expect(res.status).not.toBe(403);
      else expect(res.status).toBe(403);
      expect(res.status).toBeLessThan(500);
      await expectDocumented(herald, route.method, route.path, res);
    },
  );

  it('limits a key to its topics', async () => {
    const denied = await herald.request(
      'POST',
      '/v1/topics/scoped/messages',
      { body: 'x' },
      { key: keys.limited },
    );
    expect(denied.status).toBe(403);
    const allowed = await herald.request(
      'POST',
      '/v1/topics/other/messages',
      { body: 'x' },
      { key: keys.limited },
    );
    expect(allowed.status).toBe(202);
    const list = await herald.request('GET', '/v1/topics', undefined, { key: keys.limited });
    expect(list.body.items.map((t: { name: string }) => t.name)).toEqual(['other']);
  });

  it('a deleted key stops working at once', async () => {
    const created = await herald.request('POST', '/v1/api-keys', { name: 'temp', scopes: ['read'] });
    expect((await herald.request('GET', '/v1/topics', undefined, { key: created.body.key })).status).toBe(
      200,
    );
    expect((await herald.request('DELETE', `/v1/api-keys/${created.body.id}`)).status).toBe(204);
    expect((await herald.request('GET', '/v1/topics', undefined, { key: created.body.key })).status).toBe(
      401,
    );
    const listed = await herald.request('GET', '/v1/api-keys');
    expect(JSON.stringify(listed.body)).not.toContain(created.body.key);
  });

  const BAD: Array<{
    name: string;
    method: string;
    path: string;
    raw?: string;
    body?: unknown;
    headers?: Record<string, string>;
    status: number;
    field?: string;
  }> = [
    {
      name: 'malformed JSON',
      method: 'POST',
      path: '/v1/topics',
      raw: '{"name": ',
      headers: { 'content-type': 'application/json' },
      status: 400,
    },
    { name: 'JSON array for an object', method: 'POST', path: '/v1/topics', body: ['x'], status: 400 },
    {
      name: 'wrong content type',
      method: 'POST',
      path: '/v1/topics',
      raw: 'name=x',
      headers: { 'content-type': 'text/plain' },
      status: 415,
    },
    {
      name: 'form on a JSON route',
      method: 'POST',
      path: '/v1/topics',
      raw: 'name=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      status: 415,
    },
    {
      name: 'bad topic name',
      method: 'POST',
      path: '/v1/topics',
      body: { name: 'has space' },
      status: 400,
      field: 'name',
    },
    {
      name: 'topic name wrong type',
      method: 'POST',
      path: '/v1/topics',
      body: { name: 12 },
      status: 400,
      field: 'name',
    },
    {
      name: 'unknown topic field',
      method: 'POST',
      path: '/v1/topics',
      body: { name: 'ok-name', colour: 'red' },
      status: 400,
      field: 'colour',
    },
    {
      name: 'bad delivery policy',
      method: 'POST',
      path: '/v1/topics',
      body: { name: 'ok-name', deliveryPolicy: { maxAttempts: 0 } },
      status: 400,
      field: 'deliveryPolicy.maxAttempts',
    },
    {
      name: 'unknown protocol',
      method: 'POST',
      path: '/v1/topics/scoped/subscriptions',
      body: { protocol: 'pigeon', endpoint: 'x' },
      status: 400,
      field: 'protocol',
    },
    {
      name: 'webhook endpoint not a URL',
      method: 'POST',
      path: '/v1/topics/scoped/subscriptions',
      body: { protocol: 'webhook', endpoint: 'not a url' },
      status: 400,
      field: 'endpoint',
    },
    {
      name: 'webhook endpoint with credentials',
      method: 'POST',
      path: '/v1/topics/scoped/subscriptions',
      body: { protocol: 'webhook', endpoint: 'https://u:p@example.com/' },
      status: 400,
      field: 'endpoint',
    },
    {
      name: 'subscription to unknown topic',
      method: 'POST',
      path: '/v1/topics/nope/subscriptions',
      body: { protocol: 'webhook', endpoint: 'https://example.com/' },
      status: 404,
    },
    {
      name: 'publish without body',
      method: 'POST',
      path: '/v1/topics/scoped/messages',
      body: { subject: 's' },
      status: 400,
      field: 'body',
    },
    {
      name: 'publish subject with newline',
      method: 'POST',
      path: '/v1/topics/scoped/messages',
      body: { body: 1, subject: 'a\nb' },
      status: 400,
      field: 'subject',
    },
    {
      name: 'publish subject too long',
      method: 'POST',
      path: '/v1/topics/scoped/messages',
      body: { body: 1, subject: 'x'.repeat(101) },
      status: 400,
      field: 'subject',
    },
    {
      name: 'publish attributes wrong type',
      method: 'POST',
      path: '/v1/topics/scoped/messages',
      body: { body: 1, attributes: { a: { nested: true } } },
      status: 400,
      field: 'attributes.a',
    },
    {
      name: 'publish to unknown topic',
      method: 'POST',
      path: '/v1/topics/nope/messages',
      body: { body: 1 },
      status: 404,
    },
    {
      name: 'publish oversized',
      method: 'POST',
      path: '/v1/topics/scoped/messages',
      body: { body: 'x'.repeat(300 * 1024) },
      status: 413,
    },
    {
      name: 'publish idempotency key too long',
      method: 'POST',
      path: '/v1/topics/scoped/messages',
      body: { body: 1 },
      headers: { 'idempotency-key': 'k'.repeat(129) },
      status: 400,
    },
    {
      name: 'batch too large',
      method: 'POST',
      path: '/v1/topics/scoped/messages/batch',
      body: { messages: Array.from({ length: 101 }, () => ({ body: 1 })) },
      status: 400,
      field: 'messages',
    },
    {
      name: 'batch not an array',
      method: 'POST',
      path: '/v1/topics/scoped/messages/batch',
      body: { messages: 'no' },
      status: 400,
      field: 'messages',
    },
    {
      name: 'list limit out of range',
      method: 'GET',
      path: '/v1/topics?limit=0',
      status: 400,
      field: 'limit',
    },
    {
      name: 'list limit not a number',
      method: 'GET',
      path: '/v1/topics?limit=abc',
      status: 400,
      field: 'limit',
    },
    {
      name: 'api key with unknown scope',
      method: 'POST',
      path: '/v1/api-keys',
      body: { name: 'k', scopes: ['root'] },
      status: 400,
      field: 'scopes',
    },
    {
      name: 'unknown message id of any form',
      method: 'GET',
      path: '/v1/messages/..%2F..%2Fetc',
      status: 404,
    },
    {
      name: 'unknown subscription id of any form',
      method: 'GET',
      path: '/v1/subscriptions/%00%ff',
      status: 404,
    },
    { name: 'unknown delivery', method: 'GET', path: '/v1/deliveries/12345', status: 404 },
    { name: 'unknown dead letter', method: 'GET', path: '/v1/dead-letters/dlq_x', status: 404 },
    { name: 'unknown topic', method: 'GET', path: '/v1/topics/a.b', status: 404 },
    { name: 'unknown route', method: 'GET', path: '/v1/nothing-here', status: 404 },
    {
      name: 'confirm with unknown token',
      method: 'GET',
      path: '/v1/subscriptions/confirm?token=nope',
      status: 404,
    },
    { name: 'confirm without token', method: 'GET', path: '/v1/subscriptions/confirm', status: 400 },
    {
      name: 'dead-letter list with a bad topic',
      method: 'GET',
      path: '/v1/dead-letters?topic=a%20b',
      status: 400,
      field: 'topic',
    },
    {
      name: 'dead-letter list with a bad limit',
      method: 'GET',
      path: '/v1/dead-letters?limit=5000',
      status: 400,
      field: 'limit',
    },
    {
      name: 'redrive many without filter',
      method: 'POST',
      path: '/v1/dead-letters/redrive',
      body: {},
      status: 400,
    },
  ];

  it.each(BAD)('answers $name with $status problem+json and creates nothing', async (c) => {
    const topicsBefore = (await herald.request('GET', '/v1/topics')).body.items.length;
    const subsBefore = (await herald.request('GET', '/v1/topics/scoped/subscriptions')).body.items.length;
    const res = await herald.request(c.method, c.path, c.body, { raw: c.raw, headers: c.headers });
    expect(res.status).toBe(c.status);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body).toMatchObject({
      status: c.status,
      title: expect.any(String),
      detail: expect.any(String),
      type: expect.any(String),
    });
    if (c.field) expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(c.field);
    if (c.name !== 'unknown route') await expectDocumented(herald, c.method, c.path, res);
    expect((await herald.request('GET', '/v1/topics')).body.items.length).toBe(topicsBefore);
    expect((await herald.request('GET', '/v1/topics/scoped/subscriptions')).body.items.length).toBe(
      subsBefore,
    );
  });

  it('keeps topic creation idempotent and refuses a conflicting one', async () => {
    const created = await herald.request('POST', '/v1/topics', { name: 'idem', displayName: 'A' });
    expect(created.status).toBe(201);
    const again = await herald.request('POST', '/v1/topics', { name: 'idem', displayName: 'A' });
    expect(again.status).toBe(200);
    const conflict = await herald.request('POST', '/v1/topics', { name: 'idem', displayName: 'B' });
    expect(conflict.status).toBe(409);
    for (const res of [created, again, conflict]) await expectDocumented(herald, 'POST', '/v1/topics', res);
  });

  it('serves health, readiness, metrics and the OpenAPI document', async () => {
    const health = await herald.request('GET', '/healthz', undefined, { key: null });
    expect(health.status).toBe(200);
    const ready = await herald.request('GET', '/readyz', undefined, { key: null });
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ redis: 'ok', catalog: 'ok' });
    const metrics = await herald.request('GET', '/metrics', undefined, { key: null });
    expect(metrics.text).toContain('herald_queue_jobs');
    await expectDocumented(herald, 'GET', '/healthz', health);
    await expectDocumented(herald, 'GET', '/readyz', ready);
    await expectDocumented(herald, 'GET', '/metrics', metrics);
    const doc = await herald.request('GET', '/docs/openapi.json', undefined, { key: null });
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/v1/topics/{name}/messages', '/v1/dead-letters/{id}/redrive']),
    );
  });
});
