import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, startHerald, type TestHerald } from '../support/herald';
import { seedTopic, stateOf, type TopicFixtures } from '../support/fixtures';
import { OpenApi, type OpenApiOperation } from '../support/openapi';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked field by field
type Json = any;
type Scope = 'admin' | 'publish' | 'subscribe' | 'read';

/**
 * The scope a route needs, by API.md's rules rather than by what the code declares. `any`: every
 * valid key, limited or not (GET /v1/api-keys/current says who the caller is; README addition).
 */
function requiredScope(op: OpenApiOperation): Scope | 'any' {
  if (op.path === '/v1/api-keys/current') return 'any';
  if (op.path.startsWith('/v1/api-keys')) return 'admin';
  if (op.method === 'get') return 'read';
  if (/^\/v1\/topics\/\{name\}\/messages/.test(op.path)) return 'publish';
  if (op.path === '/v1/topics/{name}/subscriptions' || op.path.startsWith('/v1/subscriptions/{id}')) {
    return 'subscribe';
  }
  return 'admin';
}

/** A request each route accepts from a key allowed to make it; any other route gets `{}`. */
const BODIES: Record<string, unknown> = {
  'POST /v1/api-keys': { name: 'matrix', scopes: ['read'] },
  'POST /v1/topics': { name: 'main' },
  'PATCH /v1/topics/{name}': { description: 'changed by the matrix' },
  'POST /v1/topics/{name}/subscriptions': { protocol: 'function', endpoint: 'https://example.com/matrix' },
  'PATCH /v1/subscriptions/{id}': { rawDelivery: true },
  'POST /v1/topics/{name}/messages': { body: 'x' },
  'POST /v1/topics/{name}/messages/batch': { messages: [{ body: 'x' }] },
  'POST /v1/topics/{name}/messages/dry-run': { body: 'x' },
  'POST /v1/dead-letters/redrive': { topic: 'main' },
};

/**
 * Every route of the OpenAPI document × {no key, malformed key, deleted key, each single scope, a
 * topic-limited key, a topic-limited admin key}, on resources of a topic the limited keys do not have:
 * 401 and 403 where due, and a refused request changes nothing. New routes are covered as they appear in
 * the document; a route that is not public and names no topic is expected closed to limited keys.
 */
describe('authorization matrix over the OpenAPI document', () => {
  let herald: TestHerald;
  let api: OpenApi;
  let main: TopicFixtures;
  let keyId: string;
  const keys: Record<string, string | null> = {};

  beforeAll(async () => {
    herald = await startHerald('sqlite', { HERALD_ROLES: 'api' });
    api = await OpenApi.load(herald.url);
    main = await seedTopic(herald, 'main');
    await seedTopic(herald, 'other');
    const create = async (body: object) => {
      const res = await herald.request('POST', '/v1/api-keys', body);
      expect(res.status).toBe(201);
      return res.body as { id: string; key: string };
    };
    for (const scope of ['admin', 'publish', 'subscribe', 'read'] as const) {
      keys[scope] = (await create({ name: scope, scopes: [scope] })).key;
    }
    keys.limited = (
      await create({ name: 'limited', scopes: ['read', 'publish', 'subscribe'], topics: ['other'] })
    ).key;
    keys.limitedAdmin = (await create({ name: 'limited admin', scopes: ['admin'], topics: ['other'] })).key;
    const deleted = await create({ name: 'deleted', scopes: ['admin'] });
    expect((await herald.request('DELETE', `/v1/api-keys/${deleted.id}`)).status).toBe(204);
    keys.deleted = deleted.key;
    keyId = (await create({ name: 'target', scopes: ['read'] })).id;
  });
  afterAll(async () => herald?.close());

  function urlOf(op: OpenApiOperation): string {
    const id = op.path.startsWith('/v1/api-keys')
      ? keyId
      : op.path.startsWith('/v1/subscriptions')
        ? main.subscriptionId
        : op.path.startsWith('/v1/messages')
          ? main.messageId
          : op.path.startsWith('/v1/deliveries')
            ? main.deliveryId
            : main.deadLetterId;
    return op.path.replace('{name}', main.topic).replace('{id}', id);
  }

  /** `kind` names the key in messages: a failing test must not print the key itself. */
  async function send(op: OpenApiOperation, authorization: string | null, kind: string) {
    const body = BODIES[`${op.method.toUpperCase()} ${op.path}`] ?? (op.method === 'get' ? undefined : {});
    const url = urlOf(op);
    const res = await fetch(herald.url + url, {
      method: op.method.toUpperCase(),
      headers: {
        ...(authorization ? { authorization } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    const where = `${op.method.toUpperCase()} ${op.path} with the ${kind} key -> ${res.status} ${text.slice(0, 200)}`;
    expect
      .soft(api.problems(op.method, url, { status: res.status, headers: res.headers, text }), where)
      .toEqual([]);
    return { status: res.status, text, where };
  }

  const isPublic = (op: OpenApiOperation) => !(op.operation.security?.length > 0);
  /** Lists a limited key may read: what it sees is filtered, not refused. */
  const isList = (op: OpenApiOperation) =>
    op.method === 'get' &&
    !op.path.includes('{') &&
    requiredScope(op) !== 'admin' &&
    requiredScope(op) !== 'any';

  it('refuses, changing nothing: no key, a malformed or deleted key, a key without the scope, keys limited to other topics', async () => {
    const refusals: Array<[string, (op: OpenApiOperation) => number | null]> = [
      ['none', () => 401],
      ['malformed', () => 401],
      ['malformed-scheme', () => 401],
      ['deleted', () => 401],
      ...(['publish', 'subscribe', 'read'] as const).map(
        (scope): [string, (op: OpenApiOperation) => number | null] => [
          scope,
          (op) => (requiredScope(op) === scope || requiredScope(op) === 'any' ? null : 403),
        ],
      ),
      ['limited', (op) => (isList(op) || requiredScope(op) === 'any' ? null : 403)],
      ['limitedAdmin', (op) => (isList(op) || requiredScope(op) === 'any' ? null : 403)],
    ];
    const header = (kind: string) =>
      kind === 'none'
        ? null
        : kind === 'malformed'
          ? 'Bearer not a key'
          : kind === 'malformed-scheme'
            ? `Basic ${ADMIN_KEY}`
            : `Bearer ${keys[kind]}`;
    let refused = 0;
    for (const op of api.operations.filter((o) => !isPublic(o))) {
      for (const [kind, expected] of refusals) {
        const status = expected(op);
        if (status === null) continue;
        const before = await stateOf(herald);
        const res = await send(op, header(kind), kind);
        expect.soft(res.status, res.where).toBe(status);
        expect.soft(await stateOf(herald), `${res.where}: changed state`).toBe(before);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(200);
  });

  it("lets limited keys read only their topics' lists", async () => {
    for (const op of api.operations.filter((o) => !isPublic(o) && isList(o))) {
      for (const kind of ['limited', 'limitedAdmin']) {
        const res = await send(op, `Bearer ${keys[kind]}`, kind);
        expect.soft(res.status, res.where).toBe(200);
        const items = (JSON.parse(res.text) as { items: Json[] }).items;
        expect.soft(items.length, res.where).toBeGreaterThan(0);
        for (const item of items) expect.soft(item.topic ?? item.name, res.where).toBe('other');
      }
    }
  });

  it('lets through a key with the scope (or admin), and public routes without a key', async () => {
    for (const op of api.operations) {
      if (isPublic(op)) {
        const res = await send(op, null, 'no');
        expect.soft(res.status, res.where).not.toBe(401);
        continue;
      }
      const needs = requiredScope(op);
      for (const kind of [needs === 'any' ? 'read' : needs, 'admin']) {
        const res = await send(op, `Bearer ${kind === 'admin' ? ADMIN_KEY : keys[kind]}`, kind);
        expect.soft([401, 403], res.where).not.toContain(res.status);
        expect.soft(res.status, res.where).toBeLessThan(500);
      }
    }
  });
});
