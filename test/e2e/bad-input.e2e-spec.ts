import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHerald, type TestHerald } from '../support/herald';
import { createTopic, publish, subscribe } from '../support/herald-api';
import { rawHttp } from '../support/raw-http';

/**
 * The malformed requests that answered 5xx (or a wrong 2xx) in issue 8's run, each now a problem+json 4xx
 * that changes nothing.
 */
describe('bad input answers a problem+json 4xx and changes nothing', () => {
  let herald: TestHerald;
  let subId: string;
  let messageId: string;

  /** Topics and subscriptions as the catalog holds them, to compare before and after a refused request. */
  async function snapshot(): Promise<string> {
    const topics = await herald.request('GET', '/v1/topics?limit=1000');
    const subs = await herald.request('GET', '/v1/topics/t/subscriptions?limit=1000');
    const keys = await herald.request('GET', '/v1/api-keys?limit=1000');
    return JSON.stringify([topics.body, subs.body, keys.body]);
  }

  async function expectRefused(
    status: number,
    method: string,
    path: string,
    opts: { raw?: string; body?: unknown; key?: string | null; headers?: Record<string, string> } = {},
  ) {
    const before = await snapshot();
    const res = await herald.request(method, path, opts.body, {
      raw: opts.raw,
      key: opts.key,
      headers:
        opts.raw !== undefined ? { 'content-type': 'application/json', ...opts.headers } : opts.headers,
    });
    expect(res.status, `${method} ${path}: ${res.text.slice(0, 300)}`).toBe(status);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
    expect(await snapshot()).toBe(before);
    return res;
  }

  beforeAll(async () => {
    herald = await startHerald('sqlite');
    await createTopic(herald, 't');
    subId = (await subscribe(herald, 't', { protocol: 'function', endpoint: 'https://example.com/fn' })).id;
    messageId = await publish(herald, 't', { body: 'x' });
  });
  afterAll(async () => herald?.close());

  const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

  it.each([
    ['POST', '/v1/topics', (d: string) => `{"name":"deep","deliveryPolicy":{"a":${d}}}`],
    ['PATCH', '/v1/topics/t', (d: string) => `{"deliveryPolicy":{"a":${d}}}`],
    [
      'POST',
      '/v1/topics/t/subscriptions',
      (d: string) => `{"protocol":"function","endpoint":"https://example.com/d","metadata":{"a":${d}}}`,
    ],
    ['PATCH', '/v1/subscriptions/:sub', (d: string) => `{"filterPolicy":{"a":${d}}}`],
    ['POST', '/v1/api-keys', (d: string) => `{"name":"k","scopes":["read"],"topics":${d}}`],
    ['POST', '/v1/topics/t/messages', (d: string) => `{"body":${d}}`],
    ['POST', '/v1/topics/t/messages/batch', (d: string) => `{"messages":[{"body":${d}}]}`],
    ['POST', '/v1/topics/t/messages/dry-run', (d: string) => `{"body":${d}}`],
    ['POST', '/v1/dead-letters/redrive', (d: string) => `{"topic":${d}}`],
  ])('%s %s with 1,500 and 6,000 levels of nesting: 400 naming the limit', async (method, path, body) => {
    for (const levels of [1500, 6000]) {
      const res = await expectRefused(400, method, path.replace(':sub', subId), { raw: body(deep(levels)) });
      expect(res.body.detail).toBe('The JSON body nests deeper than 100 levels.');
    }
  });

  it('accepts JSON nested up to the limit', async () => {
    const body = `{"body":${'{"a":'.repeat(99)}1${'}'.repeat(99)}}`;
    const res = await herald.request('POST', '/v1/topics/t/messages', undefined, {
      raw: body,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(202);
  });

  it.each([
    '/v1/api-keys',
    '/v1/topics',
    '/v1/topics/t/subscriptions',
    '/v1/subscriptions/:sub/deliveries',
    '/v1/messages/:msg/deliveries',
    '/v1/dead-letters',
  ])('GET %s with a control character in the cursor: 400 naming it', async (path) => {
    const url = path.replace(':sub', subId).replace(':msg', messageId);
    for (const bad of ['%00', 'a%00b', '%1F', '%7F']) {
      const res = await expectRefused(400, 'GET', `${url}?cursor=${bad}`);
      expect(res.body.errors).toEqual([{ field: 'cursor', message: 'must not contain control characters' }]);
    }
  });

  it('refuses control characters in tokens and filters, and in path ids (404)', async () => {
    await expectRefused(400, 'GET', '/v1/subscriptions/unsubscribe?token=%00', { key: null });
    await expectRefused(400, 'POST', '/v1/subscriptions/unsubscribe?token=%00', { key: null });
    await expectRefused(400, 'GET', '/v1/subscriptions/confirm?token=%00', { key: null });
    await expectRefused(400, 'GET', '/v1/dead-letters?subscriptionId=%00');
    await expectRefused(400, 'GET', '/v1/topics?%00=1');
    await expectRefused(404, 'DELETE', '/v1/topics/%00');
    await expectRefused(404, 'GET', '/v1/topics/a%00b');
    await expectRefused(404, 'DELETE', '/v1/subscriptions/sub_%00');
    await expectRefused(404, 'GET', '/v1/messages/%0a');
  });

  it('refuses null for fields that cannot be null', async () => {
    for (const body of [{ rawDelivery: null }, { filterPolicyScope: null }, { status: null }]) {
      const res = await expectRefused(400, 'PATCH', `/v1/subscriptions/${subId}`, { body });
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(Object.keys(body));
    }
    await expectRefused(400, 'POST', '/v1/topics/t/subscriptions', {
      body: { protocol: 'function', endpoint: 'https://example.com/n', rawDelivery: null },
    });
    const sub = await herald.request('GET', `/v1/subscriptions/${subId}`);
    expect(sub.body).toMatchObject({ rawDelivery: false, filterPolicyScope: 'attributes', status: 'active' });
  });

  it('refuses a JSON body that is not an object (null PATCH included)', async () => {
    for (const raw of ['null', '[]', '"x"', '7', 'true']) {
      await expectRefused(400, 'PATCH', '/v1/topics/t', { raw });
      await expectRefused(400, 'PATCH', `/v1/subscriptions/${subId}`, { raw });
    }
  });

  it('refuses __proto__ keys with a clear word', async () => {
    const res = await expectRefused(400, 'POST', '/v1/topics', { raw: '{"name":"p","__proto__":{"x":1}}' });
    expect(res.body.detail).toMatch(/__proto__/);
  });

  it('answers a path id longer than any id with 404, without echoing the URL', async () => {
    for (const path of [`/v1/subscriptions/${'x'.repeat(150)}`, `/v1/topics/${'y'.repeat(400)}`]) {
      const res = await expectRefused(404, 'GET', path);
      expect(res.text).not.toContain('x'.repeat(120));
      expect(res.text).not.toContain('y'.repeat(300));
    }
    // A topic name of the longest allowed length is not a long id.
    const long = 'z'.repeat(256);
    await createTopic(herald, long);
    expect((await herald.request('GET', `/v1/topics/${long}`)).status).toBe(200);
  });

  it('answers HTTP-level errors as problem+json: oversized headers (431) and malformed HTTP (400)', async () => {
    const port = Number(new URL(herald.url).port);
    const cases: Array<[string, number]> = [
      [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
      ['GET /healthz HTTP/1.1\r\nHost x\r\n\r\n', 400],
      ['BREW /healthz HTCPCP/1.0\r\n\r\n', 400],
      ['GET /v1/topics HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 400],
    ];
    for (const [request, status] of cases) {
      const before = await snapshot();
      const res = await rawHttp(port, request);
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      expect(JSON.parse(res.body)).toMatchObject({
        status,
        title: expect.any(String),
        detail: expect.any(String),
      });
      expect(await snapshot()).toBe(before);
    }
    // The server is unharmed.
    expect((await herald.request('GET', '/healthz', undefined, { key: null })).status).toBe(200);
  });
});
