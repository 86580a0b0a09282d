import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, startHerald, type TestHerald } from '../support/herald';
import { seedTopic, stateOf, type TopicFixtures } from '../support/fixtures';
import { OpenApi, type OpenApiOperation } from '../support/openapi';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- an OpenAPI document is JSON of many shapes
type Json = any;

/** At least 3,000 requests in the normal run (issue 8); FUZZ_RUNS and FUZZ_SEED explore further. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 3200);
const SEED = Number(process.env.FUZZ_SEED ?? 20251208);
const REQUEST_TIMEOUT_MS = 10_000;

/** What must never be in an answer: stack traces, runtime and SQL errors, file paths. */
const INTERNALS = [
  /\bat [\w$.<>]+ \(/,
  /\.(ts|js|mjs):\d+/,
  /node_modules|\/work\/|\/home\/|\/usr\/lib/,
  /RangeError|TypeError|ReferenceError|SyntaxError|Maximum call stack/,
  /syntax error at or near|violates .* constraint|duplicate key value|invalid input syntax|invalid byte sequence|SQLSTATE/i,
  /\b(SELECT \S+ FROM|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b/,
];

const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u0001\u001f',
  '\u007f',
  '\r\n',
  '%',
  '%00',
  '%ff',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'null',
  'undefined',
  'true',
  '-1',
  '0',
  '1e309',
  'NaN',
  '💥',
  '\ud800',
  '\udfff',
  'x'.repeat(101),
  'y'.repeat(257),
  'z'.repeat(5000),
  "' OR 1=1 --",
  '<script>alert(1)</script>',
  '${jndi:ldap://x}',
  'sub_00000000000000000000000000',
  'msg_0000000000000000000000000Z',
  'dlq_',
  'https://',
  'http://127.0.0.1:1/',
  '+1',
  'a@b',
];

const nastyString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
);

/** JSON values of every kind, prototype keys and deep or wide ones included. */
const nastyJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.constantFrom(0, -0, 1e308, -1e308, 2 ** 53 + 1, 1e-7),
    nastyString,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(nastyString, fc.constantFrom('__proto__', 'constructor', '$or')), tie('value'), {
      maxKeys: 4,
    }),
  ),
})).value;

/** A value the schema describes, most of the time: a request that gets past the first checks. */
function fromSchema(api: OpenApi, schema: Json, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 6) return nastyJson;
  if (schema.$ref) return fromSchema(api, resolve(api, schema.$ref), depth + 1);
  if (schema.anyOf) return fc.oneof(...(schema.anyOf as Json[]).map((s) => fromSchema(api, s, depth + 1)));
  let valid: fc.Arbitrary<unknown>;
  if (schema.enum) valid = fc.constantFrom(...(schema.enum as unknown[]));
  else if (schema.type === 'string') valid = fc.oneof(fc.string({ maxLength: 20 }), fc.constant('orders'));
  else if (schema.type === 'integer')
    valid = fc.integer({ min: schema.minimum ?? -5, max: Math.min(schema.maximum ?? 2000, 5000) });
  else if (schema.type === 'number') valid = fc.double({ noNaN: true });
  else if (schema.type === 'boolean') valid = fc.boolean();
  else if (schema.type === 'array')
    valid = fc.array(fromSchema(api, schema.items, depth + 1), { maxLength: 3 });
  else if (schema.type === 'object' && schema.properties) {
    const props = schema.properties as Record<string, Json>;
    const required = new Set<string>(schema.required ?? []);
    valid = fc
      .record(Object.fromEntries(Object.entries(props).map(([k, v]) => [k, fromSchema(api, v, depth + 1)])), {
        requiredKeys: [],
      })
      .chain((object) =>
        // Usually keep the required fields, sometimes not.
        fc.boolean().map((dropRequired) => {
          const out: Record<string, unknown> = { ...object };
          if (!dropRequired) {
            for (const k of required) if (!(k in out)) out[k] = 'orders';
          }
          return out;
        }),
      );
  } else valid = nastyJson;
  return fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: nastyJson });
}

function resolve(api: OpenApi, ref: string): Json {
  return ref
    .replace(/^#\//, '')
    .split('/')
    .reduce((node: Json, part) => node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], api.doc);
}

/** Percent-encoding that also sends a lone surrogate, as bytes that are not UTF-8 at all. */
function encode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return [...value].map((c) => (/[\ud800-\udfff]/.test(c) ? '%ED%A0%80' : encodeURIComponent(c))).join('');
  }
}

/** Which Authorization header a request sends; the header is made at send time so no key is ever printed. */
type AuthKind = 'admin' | 'limited read' | 'none' | 'bare' | 'non-ascii' | 'basic' | 'extra';

function authorization(kind: AuthKind, readKey: string): string | null {
  switch (kind) {
    case 'admin':
      return `Bearer ${ADMIN_KEY}`;
    case 'limited read':
      return `Bearer ${readKey}`;
    case 'none':
      return null;
    case 'bare':
      return 'Bearer';
    case 'non-ascii':
      return 'Bearer \u00e9';
    case 'basic':
      return `Basic ${ADMIN_KEY}`;
    case 'extra':
      return `Bearer ${ADMIN_KEY} extra`;
  }
}

interface FuzzRequest {
  op: OpenApiOperation;
  auth: AuthKind;
  url: string;
  headers: Record<string, string>;
  body?: string;
  label: string;
}

/** Bodies no parser should choke on. */
const RAW_BODIES = fc.oneof(
  fc.constantFrom(
    '',
    '{',
    '{"a":',
    '[1,]',
    'nul',
    'null',
    '[]',
    '"text"',
    '{"__proto__":{"admin":true}}',
    '{"constructor":{"prototype":{"x":1}}}',
    '\u0000',
    '{"a":"\\ud800"}',
    '{"a":1,"a":2}',
    `{"body":${'['.repeat(5000)}${']'.repeat(5000)}}`,
    `{"name":${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}}`,
    `{"body":"${'x'.repeat(300 * 1024)}"}`,
    `{"messages":[${Array.from({ length: 150 }, () => '{"body":1}').join(',')}]}`,
  ),
  fc.string({ maxLength: 40 }),
);

const CONTENT_TYPES = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/merge-patch+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  '',
);

function requestArbitrary(api: OpenApi, ids: Record<string, string[]>): fc.Arbitrary<FuzzRequest> {
  const paramValue = (path: string, param: string) => {
    const kind = /\/api-keys\//.test(path)
      ? 'key'
      : /\/topics\//.test(path)
        ? 'topic'
        : /\/subscriptions\//.test(path)
          ? 'subscription'
          : /\/messages\//.test(path)
            ? 'message'
            : /\/deliveries\//.test(path)
              ? 'delivery'
              : /\/dead-letters\//.test(path)
                ? 'deadLetter'
                : param;
    const good = ids[kind] ?? [];
    const bad = nastyString.filter((s) => s !== '.' && s !== '..' && !/^%2e/i.test(s));
    return good.length > 0 ? fc.oneof(fc.constantFrom(...good), bad) : bad;
  };
  return fc.constantFrom(...api.operations).chain((op) => {
    const names = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    const queryParams = ((op.operation.parameters ?? []) as Json[]).filter((p) => p.in === 'query');
    const query = fc.array(
      fc.oneof(
        ...(queryParams.length > 0
          ? [
              fc.tuple(
                fc.constantFrom(...queryParams.map((p) => p.name as string)),
                fc.oneof(
                  fc.constantFrom(
                    ...queryParams.flatMap((p) => (p.schema?.enum as string[]) ?? ['1', '100']),
                  ),
                  nastyString,
                ),
              ),
            ]
          : []),
        fc.tuple(nastyString, nastyString),
      ),
      { maxLength: 3 },
    );
    const schema = op.operation.requestBody?.content?.['application/json']?.schema;
    const body = fc.oneof(
      { weight: 5, arbitrary: (schema ? fromSchema(api, schema) : nastyJson).map((v) => JSON.stringify(v)) },
      { weight: 2, arbitrary: RAW_BODIES },
      { weight: 1, arbitrary: fc.constant(undefined) },
    );
    const auth = fc.oneof(
      { weight: 4, arbitrary: fc.constant<AuthKind>('admin') },
      {
        weight: 2,
        arbitrary: fc.constantFrom<AuthKind>('limited read', 'none', 'bare', 'non-ascii', 'basic', 'extra'),
      },
    );
    return fc
      .record({
        params: fc.tuple(...names.map((n) => paramValue(op.path, n))),
        query,
        body,
        type: fc.oneof(
          { weight: 4, arbitrary: fc.constant('application/json') },
          { weight: 1, arbitrary: CONTENT_TYPES },
        ),
        auth,
        extraHeader: fc.option(
          fc.tuple(fc.constantFrom('idempotency-key', 'accept', 'x-twilio-signature'), nastyString),
        ),
      })
      .map(({ params, query, body, type, auth, extraHeader }) => {
        let path = op.path;
        names.forEach((n, i) => (path = path.replace(`{${n}}`, encode(params[i]))));
        const qs = query.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&');
        const url = qs ? `${path}?${qs}` : path;
        const headers: Record<string, string> = {};
        const sendBody = op.method !== 'get' && body !== undefined;
        if (sendBody && type) headers['content-type'] = type;
        if (extraHeader && /^[\t\x20-\x7e]*$/.test(extraHeader[1])) headers[extraHeader[0]] = extraHeader[1];
        return {
          op,
          auth,
          url,
          headers,
          body: sendBody ? body : undefined,
          label: `${op.method.toUpperCase()} ${url.slice(0, 200)} (${auth} key) ${sendBody ? (body ?? '').slice(0, 200) : ''}`,
        };
      });
  });
}

/**
 * Requests generated from the OpenAPI document, so that a new route is fuzzed without editing this test:
 * wrong types, missing and extra fields, nulls, huge and deeply nested values, control characters,
 * prototype keys, bad ids and query parameters, bad JSON and content types. No answer may be a 5xx,
 * hang, leak internals or be undocumented; a refused request (and any GET) changes nothing.
 */
describe('fuzzing every operation of the OpenAPI document', () => {
  let herald: TestHerald;
  let api: OpenApi;
  const ids: Record<string, string[]> = {};
  const statuses = new Map<number, number>();
  let state = '';

  beforeAll(async () => {
    // API role only: no worker writes to the catalog behind the fingerprints.
    herald = await startHerald('sqlite', { HERALD_ROLES: 'api' });
    api = await OpenApi.load(herald.url);
    const fixtures: TopicFixtures[] = [await seedTopic(herald, 'fz-a'), await seedTopic(herald, 'fz-b')];
    const key = await herald.request('POST', '/v1/api-keys', {
      name: 'fuzz',
      scopes: ['read'],
      topics: ['fz-a'],
    });
    ids.topic = fixtures.map((f) => f.topic);
    ids.subscription = fixtures.map((f) => f.subscriptionId);
    ids.message = fixtures.map((f) => f.messageId);
    ids.delivery = fixtures.map((f) => f.deliveryId);
    ids.deadLetter = fixtures.map((f) => f.deadLetterId);
    ids.key = [key.body.id as string];
    ids.readKey = [key.body.key as string];
    state = await stateOf(herald);
  });
  afterAll(async () => {
    console.info(
      `fuzz: ${[...statuses.values()].reduce((a, b) => a + b, 0)} requests, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`,
    );
    await herald?.close();
  });

  it(
    `answers ${RUNS} generated requests with no 5xx, no hang, no internals, and refused ones change nothing`,
    { timeout: 600_000 },
    async () => {
      await fc.assert(
        fc.asyncProperty(requestArbitrary(api, ids), async (req) => {
          // Nothing but these requests changes Herald (API role only): the state after the last one is the
          // state before this one.
          const before = state;
          let res: Response;
          try {
            const auth = authorization(req.auth, ids.readKey[0]);
            res = await fetch(herald.url + req.url, {
              method: req.op.method.toUpperCase(),
              headers: { ...req.headers, ...(auth ? { authorization: auth } : {}) },
              body: req.body,
              signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
            });
          } catch (err) {
            throw new Error(`${req.label}: no answer within ${REQUEST_TIMEOUT_MS} ms (${String(err)})`);
          }
          const text = await res.text();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          const where = `${req.label} -> ${res.status} ${text.slice(0, 300)}`;
          expect(res.status, where).toBeLessThan(500);
          for (const pattern of INTERNALS) expect(text, where).not.toMatch(pattern);
          if (res.status >= 400) {
            expect(res.headers.get('content-type'), where).toContain('application/problem+json');
            expect(JSON.parse(text), where).toMatchObject({
              type: expect.any(String),
              title: expect.any(String),
              status: res.status,
              detail: expect.any(String),
            });
          }
          // Answers to requests that still reach the operation must be as the document says.
          if (api.find(req.op.method, req.url) === req.op) {
            expect(
              api.problems(req.op.method, req.url, { status: res.status, headers: res.headers, text }),
              where,
            ).toEqual([]);
          }
          state = await stateOf(herald);
          const changes = req.op.method !== 'get' || req.op.path === '/v1/subscriptions/confirm';
          if (res.status >= 400 || !changes) expect(state, `${where}: changed state`).toBe(before);
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
    },
  );
});
