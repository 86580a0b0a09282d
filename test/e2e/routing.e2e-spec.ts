import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startHerald, type CatalogKind, type TestHerald } from '../support/herald';
import { WebhookReceiver, type ReceivedRequest } from '../support/webhook-receiver';

type Scope = 'attributes' | 'body';
type Policy = Record<string, unknown>;

/** One row of the conformance table: a policy in a scope, and whether the scenario's message passes it. */
interface Row {
  scope: Scope;
  policy: Policy;
  expected: boolean;
}

/** One published message and the rows checked against it, each as its own subscription on one topic. */
interface Scenario {
  name: string;
  message: { body: unknown; attributes?: Record<string, unknown> };
  rows: Row[];
}

const attr = (policy: Policy, expected: boolean): Row => ({ scope: 'attributes', policy, expected });
const body = (policy: Policy, expected: boolean): Row => ({ scope: 'body', policy, expected });

/**
 * A sample of libs/core/src/filter-policy/conformance.spec.ts, every operator family in both scopes,
 * grouped by message so that each dry-run and each publish splits several subscriptions at once.
 */
const SCENARIOS: Scenario[] = [
  {
    name: "attributes: the SNS guide's example message (body is a decoy)",
    message: {
      body: { store: 'decoy', customer_interests: 'none' },
      attributes: {
        customer_interests: ['soccer', 'rugby', 'hockey'],
        store: 'example_corp',
        event: 'order_placed',
        price_usd: 210.75,
      },
    },
    rows: [
      attr({ customer_interests: ['rugby', 'tennis'] }, true),
      attr({ customer_interests: ['baseball'] }, false),
      attr({ customer_interests: [{ prefix: 'hoc' }] }, true),
      attr({ store: [{ prefix: 'Example' }] }, false),
      attr({ event: [{ 'anything-but': 'order_cancelled' }] }, true),
      attr({ customer_interests: [{ 'anything-but': ['soccer', 'rugby', 'hockey'] }] }, false),
      attr({ price_usd: [{ numeric: ['>=', 100, '<', 200] }] }, false),
      attr({ price_usd: [{ numeric: ['>', 200, '<=', 210.75] }] }, true),
      attr({ store: [{ exists: true }] }, true),
      attr({ encrypted: [{ exists: false }] }, true),
      attr({ store: [{ exists: false }] }, false),
      attr(
        {
          store: ['example_corp'],
          event: [{ 'anything-but': 'order_cancelled' }],
          customer_interests: ['rugby', 'football', 'baseball'],
          price_usd: [{ numeric: ['>=', 100] }],
        },
        true,
      ),
      attr(
        {
          store: ['example_corp'],
          event: ['order_cancelled'],
          encrypted: [false],
          customer_interests: ['basketball', 'baseball'],
        },
        false,
      ),
      attr(
        {
          store: ['example_corp'],
          $or: [{ event: ['order_cancelled'] }, { price_usd: [{ numeric: ['>', 200] }] }],
        },
        true,
      ),
      attr({ $or: [{ event: ['order_cancelled'] }, { store: ['other'] }] }, false),
      body({ store: ['example_corp'] }, false),
    ],
  },
  {
    name: 'attributes: types, case, cidr, empty arrays (body is not JSON)',
    message: {
      body: 'plain text, not JSON',
      attributes: {
        price: 301,
        code: '301',
        encrypted: false,
        file: 'photo.jpg',
        name: 'EXAMPLE',
        source_ip: '10.0.0.9',
        ipv6: '2001:db8:1::1',
        tags: [],
      },
    },
    rows: [
      attr({ price: [301] }, true),
      attr({ price: ['301'] }, false),
      attr({ code: [{ prefix: '30' }] }, true),
      attr({ price: [{ prefix: '30' }] }, false),
      attr({ encrypted: [false] }, true),
      attr({ encrypted: ['false'] }, false),
      attr({ file: [{ suffix: '.jpg' }] }, true),
      attr({ file: [{ suffix: '.JPG' }] }, false),
      attr({ name: [{ 'equals-ignore-case': 'ExAmPle' }] }, true),
      attr({ source_ip: [{ cidr: '10.0.0.0/24' }] }, true),
      attr({ source_ip: [{ cidr: '10.0.1.0/24' }] }, false),
      attr({ ipv6: [{ cidr: '2001:db8::/32' }] }, true),
      attr({ tags: [{ exists: true }] }, true),
      attr({ tags: [{ 'anything-but': ['x'] }] }, false),
      attr({ price: [{ 'anything-but': [100, 500] }] }, true),
      body({ price: [{ exists: false }] }, false),
      body({}, true),
    ],
  },
  {
    name: 'body: nested keys, arrays of objects, $or (attributes are a decoy)',
    message: {
      body: {
        source: 'aws.s3',
        store: { name: 'example_corp', city: 'Berlin' },
        detail: { 'source-ip': '10.0.255.1', price: 11, flag: true },
        Records: [{ s3: { bucket: { name: 'b0' } } }, { s3: { bucket: { name: 'b1' } } }],
        f: 'data/x.csv',
        s: 'SUCCESS',
        customer_interests: ['soccer', 'rugby'],
      },
      attributes: { store: 'example_corp', source: 'aws.ec2' },
    },
    rows: [
      body({ store: { name: ['example_corp'] } }, true),
      body({ store: { name: ['other'] } }, false),
      body({ name: ['example_corp'] }, false),
      body({ Records: { s3: { bucket: { name: ['b1'] } } } }, true),
      body({ Records: { s3: { bucket: { name: ['b2'] } } } }, false),
      body({ detail: { 'source-ip': [{ cidr: '10.0.0.0/16' }] } }, true),
      body({ f: [{ suffix: '.csv' }] }, true),
      body({ f: [{ prefix: 'tmp/' }] }, false),
      body({ s: [{ 'equals-ignore-case': 'success' }] }, true),
      body({ customer_interests: ['rugby', 'tennis'] }, true),
      body({ customer_interests: [{ 'anything-but': ['rugby', 'soccer'] }] }, false),
      body(
        {
          source: ['aws.s3'],
          $or: [{ detail: { flag: [false] } }, { detail: { price: [{ numeric: ['>', 10] }] } }],
        },
        true,
      ),
      body(
        {
          source: ['aws.s3'],
          $or: [{ detail: { flag: [false] } }, { detail: { price: [{ numeric: ['>', 11] }] } }],
        },
        false,
      ),
      body({ store: { zip: [{ exists: false }] } }, true),
      body({ detail: { price: [{ exists: true }] } }, true),
      body({ store: [{ exists: true }] }, false),
      attr({ source: ['aws.s3'] }, false),
      attr({ store: ['example_corp'] }, true),
    ],
  },
  {
    name: 'keys named like Object.prototype members are plain keys',
    message: {
      body: { hasOwnProperty: 'x', nested: { toString: 'y' }, prototype: 'p' },
      attributes: { hasOwnProperty: 'x', valueOf: '1', constructor: 'c' },
    },
    rows: [
      attr({ constructor: ['c'] }, true),
      attr({ constructor: [{ exists: false }] }, false),
      attr({ toString: [{ exists: true }] }, false),
      attr({ hasOwnProperty: ['x'] }, true),
      attr({ hasOwnProperty: ['y'] }, false),
      attr({ valueOf: [{ numeric: ['=', 1] }] }, false),
      body({ constructor: { name: ['Object'] } }, false),
      body({ nested: { toString: [{ prefix: 'y' }] } }, true),
      body({ prototype: [{ prefix: 'q' }] }, false),
      body({ __defineGetter__: [{ exists: false }] }, true),
    ],
  },
  {
    name: 'body: a JSON object sent as a string',
    message: { body: '{"customer_interests":"tennis","price":3.015e2}' },
    rows: [
      body({ customer_interests: ['rugby', 'tennis'] }, true),
      body({ price: [{ numeric: ['=', 301.5] }] }, true),
      body({ price: ['301.5'] }, false),
      attr({ customer_interests: [{ exists: false }] }, true),
    ],
  },
];

const sorted = (ids: string[]) => [...ids].sort();

async function topic(herald: TestHerald, name: string): Promise<string> {
  expect((await herald.request('POST', '/v1/topics', { name })).status).toBe(201);
  return name;
}

/** An active webhook subscription (admin skipConfirmation) to `path` on the receiver. */
async function subscribe(
  herald: TestHerald,
  receiver: WebhookReceiver,
  topicName: string,
  path: string,
  extra: Record<string, unknown> = {},
): Promise<{ id: string; secret: string; filterPolicy: unknown; metadata: unknown }> {
  const res = await herald.request('POST', `/v1/topics/${topicName}/subscriptions`, {
    protocol: 'webhook',
    endpoint: receiver.urlFor('127.0.0.1', path),
    skipConfirmation: true,
    ...extra,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.status).toBe('active');
  return res.body as { id: string; secret: string; filterPolicy: unknown; metadata: unknown };
}

async function publish(herald: TestHerald, topicName: string, message: unknown): Promise<string> {
  const res = await herald.request('POST', `/v1/topics/${topicName}/messages`, message);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.messageId as string;
}

async function dryRun(herald: TestHerald, topicName: string, message: unknown) {
  const res = await herald.request('POST', `/v1/topics/${topicName}/messages/dry-run`, message);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { matched: string[]; filteredOut: string[] };
}

/** The message once it is fanned out to `total` subscriptions and none of its deliveries is pending. */
async function settled(herald: TestHerald, messageId: string, total: number) {
  return eventually(async () => {
    const res = await herald.request('GET', `/v1/messages/${messageId}`);
    const c = res.body?.counts;
    return c && c.matched + c.filteredOut === total && c.pending === 0 ? res.body : undefined;
  }, `message ${messageId} to be fanned out to ${total} subscriptions and settled`);
}

/**
 * A notification envelope without its unsubscribeUrl: that URL carries the subscription's unsubscribe
 * token, which must not show up in a failing test's diff.
 */
function withoutToken(envelope: unknown): Record<string, unknown> {
  const { unsubscribeUrl, ...rest } = envelope as Record<string, unknown>;
  expect(typeof unsubscribeUrl).toBe('string');
  return rest;
}

const ofMessage = (receiver: WebhookReceiver, messageId: string): ReceivedRequest[] =>
  receiver.requests.filter((r) => r.headers['webhook-id'] === messageId);

describe.each<CatalogKind>(['sqlite', 'postgres'])('routing through the API (%s catalog)', (kind) => {
  let herald: TestHerald;
  /** The receiver checks every request against every subscription's secret with standardwebhooks. */
  const secrets: string[] = [];
  const receiver = new WebhookReceiver({ secrets });

  beforeAll(async () => {
    herald = await startHerald(kind);
    await receiver.start();
  });
  afterAll(async () => {
    await herald?.close();
    await receiver.stop();
  });

  it('samples at least 25 conformance rows in both scopes', () => {
    const rows = SCENARIOS.flatMap((s) => s.rows);
    expect(rows.length).toBeGreaterThanOrEqual(25);
    expect(rows.filter((r) => r.scope === 'body').length).toBeGreaterThanOrEqual(10);
    expect(rows.filter((r) => r.scope === 'attributes').length).toBeGreaterThanOrEqual(10);
  });

  it.each(SCENARIOS.map((s, i) => ({ ...s, i })))(
    '$name: dry-run and delivery agree with the table',
    async ({ message, rows, i }) => {
      const name = await topic(herald, `routing-${kind}-${i}`);
      const subs: Array<Row & { id: string; path: string }> = [];
      for (const [j, row] of rows.entries()) {
        const path = `/s${i}/r${j}`;
        const { id, secret, filterPolicy } = await subscribe(herald, receiver, name, path, {
          filterPolicy: row.policy,
          filterPolicyScope: row.scope,
        });
        expect(filterPolicy).toEqual(row.policy);
        secrets.push(secret);
        subs.push({ ...row, id, path });
      }
      const expectedMatched = subs.filter((s) => s.expected).map((s) => s.id);
      const expectedFiltered = subs.filter((s) => !s.expected).map((s) => s.id);
      const describeIds = (ids: string[]) =>
        ids.map((id) => {
          const s = subs.find((x) => x.id === id)!;
          return `${s.scope} ${JSON.stringify(s.policy)}`;
        });

      const plan = await dryRun(herald, name, message);
      expect(describeIds(sorted(plan.matched))).toEqual(describeIds(sorted(expectedMatched)));
      expect(sorted(plan.filteredOut)).toEqual(sorted(expectedFiltered));

      const messageId = await publish(herald, name, message);
      const record = await settled(herald, messageId, subs.length);
      expect(record.counts).toMatchObject({
        matched: expectedMatched.length,
        filteredOut: expectedFiltered.length,
        delivered: expectedMatched.length,
        pending: 0,
        failed: 0,
      });
      expect(record.status).toBe('delivered');

      const got = ofMessage(receiver, messageId);
      const deliveredTo = [...new Set(got.map((r) => r.headers['x-herald-subscription-id']))];
      expect(sorted(deliveredTo)).toEqual(sorted(plan.matched));
      for (const req of got) {
        expect(req.verified).toBe(true);
        const sub = subs.find((s) => s.id === req.headers['x-herald-subscription-id'])!;
        expect(req.path).toBe(sub.path);
        expect(withoutToken(JSON.parse(req.body))).toMatchObject({
          type: 'Notification',
          messageId,
          body: message.body,
          attributes: message.attributes ?? {},
        });
      }
      for (const filtered of subs.filter((s) => !s.expected)) {
        const seen = receiver.requests.filter((r) => r.path === filtered.path);
        expect(
          seen.map((r) => r.headers['webhook-id']),
          JSON.stringify(filtered.policy),
        ).toEqual([]);
      }
    },
  );
});

describe('routing on the embedded catalog', () => {
  let herald: TestHerald;
  const secrets: string[] = [];
  const receiver = new WebhookReceiver({ secrets });
  let n = 0;
  const nextTopic = () => topic(herald, `routing-more-${++n}`);

  beforeAll(async () => {
    herald = await startHerald('sqlite');
    await receiver.start();
  });
  afterAll(async () => {
    await herald?.close();
    await receiver.stop();
  });

  const sixKeys = Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f'].map((k) => [k, ['1']]));
  const values = (count: number) => Array.from({ length: count }, (_, i) => `v${i}`);

  it.each<{ name: string; sub: Record<string, unknown>; errors: Array<{ field: string; message: string }> }>([
    {
      name: 'unknown operator',
      sub: { filterPolicy: { a: [{ regex: 'x.*' }] } },
      errors: [
        {
          field: 'filterPolicy.a[0]',
          message:
            'unknown operator "regex"; expected one of prefix, suffix, equals-ignore-case, anything-but, numeric, exists, cidr',
        },
      ],
    },
    {
      name: 'numeric lower bound above the upper bound',
      sub: { filterPolicy: { price: [{ numeric: ['>', 10, '<', 5] }] } },
      errors: [
        {
          field: 'filterPolicy.price[0]',
          message: 'numeric range lower bound 10 is greater than upper bound 5',
        },
      ],
    },
    {
      name: 'numeric outside ±1e9',
      sub: { filterPolicy: { price: [{ numeric: ['>', 2e9] }] } },
      errors: [
        {
          field: 'filterPolicy.price[0]',
          message: 'number 2000000000 is outside the supported range -1000000000 to 1000000000',
        },
      ],
    },
    {
      name: 'empty list',
      sub: { filterPolicy: { a: [] } },
      errors: [{ field: 'filterPolicy.a', message: 'must contain at least one match value' }],
    },
    {
      name: 'too many keys',
      sub: { filterPolicy: sixKeys },
      errors: [
        {
          field: 'filterPolicy',
          message: 'has 6 attribute names ("a", "b", "c", "d", "e", "f"); at most 5 are allowed',
        },
      ],
    },
    {
      name: 'too many combinations',
      sub: { filterPolicy: { a: values(10), b: values(16) } },
      errors: [
        {
          field: 'filterPolicy',
          message:
            'has 160 combinations of values (the product of the value-array lengths, each times its nesting depth, summed over $or branches); at most 150 are allowed',
        },
      ],
    },
    {
      name: 'bad cidr',
      sub: { filterPolicy: { ip: [{ cidr: '10.0.0.0/33' }] } },
      errors: [
        {
          field: 'filterPolicy.ip[0]',
          message: 'cidr "10.0.0.0/33" is not an IPv4 or IPv6 network such as "10.0.0.0/24"',
        },
      ],
    },
    {
      name: '$or not an array',
      sub: { filterPolicy: { $or: { a: ['1'] } } },
      errors: [{ field: 'filterPolicy.$or', message: 'must be an array of at least 2 policy objects' }],
    },
    {
      name: 'wrong scope value',
      sub: { filterPolicy: { a: ['1'] }, filterPolicyScope: 'headers' },
      errors: [{ field: 'filterPolicyScope', message: 'must be "attributes" or "body"' }],
    },
    {
      name: 'nested object in attribute scope',
      sub: { filterPolicy: { store: { name: ['x'] } } },
      errors: [
        {
          field: 'filterPolicy.store',
          message:
            'attribute-scope policies cannot nest objects; use filterPolicyScope "body" to filter on a JSON body',
        },
      ],
    },
    {
      name: 'a policy that is not an object',
      sub: { filterPolicy: ['a'] },
      errors: [{ field: 'filterPolicy', message: 'must be an object' }],
    },
    {
      name: 'several mistakes at once',
      sub: { filterPolicy: { a: [], b: [{ prefix: '' }], c: [{ exists: 'yes' }] } },
      errors: [
        { field: 'filterPolicy.a', message: 'must contain at least one match value' },
        { field: 'filterPolicy.b[0]', message: 'prefix must be a non-empty string' },
        { field: 'filterPolicy.c[0]', message: 'exists must be true or false' },
      ],
    },
  ])('refuses an invalid policy with a precise 400 and creates nothing: $name', async ({ sub, errors }) => {
    const name = await nextTopic();
    const res = await herald.request('POST', `/v1/topics/${name}/subscriptions`, {
      protocol: 'webhook',
      endpoint: receiver.urlFor('127.0.0.1', '/never'),
      skipConfirmation: true,
      ...sub,
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body).toMatchObject({ status: 400, title: 'Invalid request' });
    expect(res.body.errors).toEqual(errors);
    const list = await herald.request('GET', `/v1/topics/${name}/subscriptions`);
    expect(list.body.items).toEqual([]);
  });

  it('applies a PATCHed filter policy, scope and rawDelivery to the next publish; an invalid PATCH changes nothing', async () => {
    const name = await nextTopic();
    // Free-form JSON keeps keys named like Object.prototype members.
    const metadata = { constructor: 'kept', nested: { toString: 'kept too' } };
    const sub = await subscribe(herald, receiver, name, '/patch', {
      filterPolicy: { kind: ['a'] },
      metadata,
    });
    expect(sub.metadata).toEqual(metadata);
    secrets.push(sub.secret);
    const seen = () => receiver.requests.filter((r) => r.path === '/patch');
    const msg = (kind: string, extra: Record<string, unknown> = {}) => ({
      body: { kind },
      attributes: { kind },
      ...extra,
    });

    // Deliver once, so the worker has the subscription and its compiled policy cached.
    const first = await publish(herald, name, msg('a'));
    await settled(herald, first, 1);
    expect(seen().map((r) => r.headers['webhook-id'])).toEqual([first]);

    const patched = await herald.request('PATCH', `/v1/subscriptions/${sub.id}`, {
      filterPolicy: { kind: ['b'] },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ filterPolicy: { kind: ['b'] }, filterPolicyScope: 'attributes' });
    expect(await dryRun(herald, name, msg('a'))).toEqual({ matched: [], filteredOut: [sub.id] });
    expect(await dryRun(herald, name, msg('b'))).toEqual({ matched: [sub.id], filteredOut: [] });
    const oldKind = await publish(herald, name, msg('a'));
    expect((await settled(herald, oldKind, 1)).counts).toMatchObject({ matched: 0, filteredOut: 1 });
    const newKind = await publish(herald, name, msg('b'));
    expect((await settled(herald, newKind, 1)).counts).toMatchObject({ matched: 1, delivered: 1 });
    expect(seen().map((r) => r.headers['webhook-id'])).toEqual([first, newKind]);

    // Invalid PATCHes: a bad range, and a body-only policy under the stored attributes scope.
    const badRange = await herald.request('PATCH', `/v1/subscriptions/${sub.id}`, {
      filterPolicy: { kind: [{ numeric: ['>', 5, '<', 1] }] },
      rawDelivery: true,
    });
    expect(badRange.status).toBe(400);
    expect(badRange.body.errors).toEqual([
      { field: 'filterPolicy.kind[0]', message: 'numeric range lower bound 5 is greater than upper bound 1' },
    ]);
    const nested = await herald.request('PATCH', `/v1/subscriptions/${sub.id}`, {
      filterPolicy: { detail: { kind: ['c'] } },
    });
    expect(nested.status).toBe(400);
    expect(nested.body.errors).toEqual([
      {
        field: 'filterPolicy.detail',
        message:
          'attribute-scope policies cannot nest objects; use filterPolicyScope "body" to filter on a JSON body',
      },
    ]);
    const badScope = await herald.request('PATCH', `/v1/subscriptions/${sub.id}`, {
      filterPolicyScope: 'everything',
    });
    expect(badScope.status).toBe(400);
    expect(badScope.body.errors).toEqual([
      { field: 'filterPolicyScope', message: 'must be "attributes" or "body"' },
    ]);
    const unchanged = await herald.request('GET', `/v1/subscriptions/${sub.id}`);
    expect(unchanged.body.metadata).toEqual(metadata);
    expect(unchanged.body).toMatchObject({
      filterPolicy: { kind: ['b'] },
      filterPolicyScope: 'attributes',
      rawDelivery: false,
      updatedAt: patched.body.updatedAt,
    });
    expect(await dryRun(herald, name, msg('b'))).toEqual({ matched: [sub.id], filteredOut: [] });

    // Policy and scope together, with raw delivery: the delivery worker must drop its cached subscription.
    const toBody = await herald.request('PATCH', `/v1/subscriptions/${sub.id}`, {
      filterPolicy: { detail: { kind: ['c'] } },
      filterPolicyScope: 'body',
      rawDelivery: true,
    });
    expect(toBody.status).toBe(200);
    const attrOnly = { body: { detail: { kind: 'x' } }, attributes: { detail: 'c' } };
    const inBody = { body: { detail: { kind: 'c' } }, attributes: {} };
    expect(await dryRun(herald, name, attrOnly)).toEqual({ matched: [], filteredOut: [sub.id] });
    expect(await dryRun(herald, name, inBody)).toEqual({ matched: [sub.id], filteredOut: [] });
    const filtered = await publish(herald, name, attrOnly);
    expect((await settled(herald, filtered, 1)).counts).toMatchObject({ matched: 0, filteredOut: 1 });
    const raw = await publish(herald, name, inBody);
    await settled(herald, raw, 1);
    const rawReq = seen().at(-1)!;
    expect(rawReq.headers['webhook-id']).toBe(raw);
    expect(rawReq.headers['content-type']).toBe('application/json');
    expect(JSON.parse(rawReq.body).type, 'a raw body, not the envelope').toBeUndefined();
    expect(rawReq.body).toBe('{"detail":{"kind":"c"}}');

    // No policy at all: every message passes.
    const cleared = await herald.request('PATCH', `/v1/subscriptions/${sub.id}`, { filterPolicy: null });
    expect(cleared.status).toBe(200);
    expect(cleared.body.filterPolicy).toBeNull();
    const any = await publish(herald, name, { body: 'anything' });
    await settled(herald, any, 1);
    expect(seen().map((r) => r.headers['webhook-id'])).toEqual([first, newKind, raw, any]);
  });

  it('refuses bad message attributes with a 400 per attribute, on publish and dry-run, and keeps good ones intact', async () => {
    const name = await nextTopic();
    const sub = await subscribe(herald, receiver, name, '/attributes');
    secrets.push(sub.secret);
    const long = 'n'.repeat(257);
    const cases: Array<[attributes: unknown, errors: Array<{ field: string; message: string }>]> = [
      [
        { 'bad name': 'x', ok: 'y' },
        [
          {
            field: 'attributes.bad name',
            message: 'name must be 1 to 256 characters of A-Z, a-z, 0-9, _, . or -',
          },
        ],
      ],
      [
        { [long]: 'x' },
        [
          {
            field: `attributes.${'n'.repeat(64)}…`,
            message: 'name must be 1 to 256 characters of A-Z, a-z, 0-9, _, . or -',
          },
        ],
      ],
      [
        { meta: { a: 1 } },
        [
          {
            field: 'attributes.meta',
            message: 'must be a string, finite number, boolean, string[] or number[]',
          },
        ],
      ],
      [
        { tags: ['a', 1] },
        [{ field: 'attributes.tags', message: 'an array must hold only strings or only numbers' }],
      ],
      [
        { flags: [true, false], none: null },
        [
          { field: 'attributes.flags', message: 'an array must hold only strings or only numbers' },
          {
            field: 'attributes.none',
            message: 'must be a string, finite number, boolean, string[] or number[]',
          },
        ],
      ],
      ['store=berlin', [{ field: 'attributes', message: 'must be an object of attribute names to values' }]],
      [
        Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`a${i}`, i])),
        [{ field: 'attributes', message: 'has 51 attributes; at most 50 are allowed' }],
      ],
    ];
    for (const [attributes, errors] of cases) {
      for (const route of ['messages', 'messages/dry-run']) {
        const res = await herald.request('POST', `/v1/topics/${name}/${route}`, { body: 'x', attributes });
        expect(res.status, `${route} ${JSON.stringify(attributes).slice(0, 80)}`).toBe(400);
        expect(res.body.errors).toEqual(errors);
      }
    }
    // The first notification the subscription gets is the valid message: none of the refused ones went out.
    const attributes = {
      s: 'x',
      n: 1.5,
      b: true,
      ss: ['a', 'b'],
      ns: [1, -2.25],
      empty: [],
      'a.b-c_D9': 'ok',
    };
    const good = await publish(herald, name, { body: 'ok', attributes });
    await settled(herald, good, 1);
    const got = receiver.requests.filter((r) => r.path === '/attributes');
    expect(got.map((r) => r.headers['webhook-id'])).toEqual([good]);
    expect(JSON.parse(got[0].body).attributes).toEqual(attributes);
    expect((await herald.request('GET', `/v1/messages/${good}`)).body.attributes).toEqual(attributes);
  });

  it('answers a batch with ids for the good entries and a per-entry error for the bad one, in order', async () => {
    const name = await nextTopic();
    const sub = await subscribe(herald, receiver, name, '/batch', {
      filterPolicy: { n: [{ exists: true }] },
    });
    secrets.push(sub.secret);
    const res = await herald.request('POST', `/v1/topics/${name}/messages/batch`, {
      messages: [
        { body: 'one', attributes: { n: 1 } },
        { body: 'two', attributes: { n: 2, meta: { nested: true } } },
        { body: 'three', attributes: { n: [3, 4] } },
        { body: 'four', attributes: { mixed: ['x', 1] } },
      ],
    });
    expect(res.status).toBe(200);
    const [one, two, three, four] = res.body.results;
    expect(one).toEqual({ messageId: expect.stringMatching(/^msg_/), duplicate: false });
    expect(three).toEqual({ messageId: expect.stringMatching(/^msg_/), duplicate: false });
    expect(two).toEqual({
      error: expect.objectContaining({
        status: 400,
        errors: [
          {
            field: 'messages[1].attributes.meta',
            message: 'must be a string, finite number, boolean, string[] or number[]',
          },
        ],
      }),
    });
    expect(four.error.errors).toEqual([
      { field: 'messages[3].attributes.mixed', message: 'an array must hold only strings or only numbers' },
    ]);
    await settled(herald, one.messageId, 1);
    await settled(herald, three.messageId, 1);
    const got = receiver.requests.filter((r) => r.path === '/batch');
    expect(
      got
        .map((r) => [r.headers['webhook-id'], JSON.parse(r.body).body])
        .sort((a, b) => a[1].localeCompare(b[1])),
    ).toEqual([
      [one.messageId, 'one'],
      [three.messageId, 'three'],
    ]);
  });

  it('sends bodyByProtocol.webhook in place of body, and raw bodies exactly as published, signed', async () => {
    const name = await nextTopic();
    const envelope = await subscribe(herald, receiver, name, '/envelope');
    const raw = await subscribe(herald, receiver, name, '/raw', { rawDelivery: true });
    secrets.push(envelope.secret, raw.secret);
    const byPath = (path: string, messageId: string) =>
      eventually(
        async () => receiver.requests.find((r) => r.path === path && r.headers['webhook-id'] === messageId),
        `${path} to receive ${messageId}`,
      );
    /**
     * The raw request carries exactly `body` with `contentType`, signed for the raw subscription only. A
     * text body is not JSON, so standardwebhooks verifies it with `jsonParse: false` (and returns nothing).
     */
    const expectRaw = (req: ReceivedRequest, contentType: string, body: string) => {
      expect(req.body.includes('"unsubscribeUrl"'), 'a raw body, not the envelope').toBe(false);
      expect(req.headers['content-type']).toBe(contentType);
      expect(req.body).toBe(body);
      const jsonParse = contentType === 'application/json';
      const verified: unknown = new Webhook(raw.secret).verify(req.body, req.headers, { jsonParse });
      expect(verified).toEqual(jsonParse ? JSON.parse(body) : undefined);
      expect(() => new Webhook(envelope.secret).verify(req.body, req.headers, { jsonParse })).toThrow();
    };
    const send = async (message: Record<string, unknown>) => {
      const id = await publish(herald, name, message);
      const [env, rawReq] = await Promise.all([byPath('/envelope', id), byPath('/raw', id)]);
      for (const req of [env, rawReq]) expect(req.headers['x-herald-message-type']).toBe('Notification');
      // The envelope always verifies as JSON with the official library, with its own subscription's secret.
      const parsed = withoutToken(new Webhook(envelope.secret).verify(env.body, env.headers));
      expect(parsed).toMatchObject({ type: 'Notification', messageId: id, subscriptionId: envelope.id });
      expect(() => new Webhook(raw.secret).verify(env.body, env.headers)).toThrow();
      return { id, envelope: parsed, raw: rawReq };
    };
    const TEXT = 'text/plain; charset=utf-8';

    // bodyByProtocol.webhook replaces body for both, and is sent raw to the raw subscription.
    const perProtocol = await send({
      body: { generic: true },
      bodyByProtocol: { webhook: { forWebhooks: [1, 2] }, email: 'for email', sms: 'for sms' },
    });
    expect(perProtocol.envelope.body).toEqual({ forWebhooks: [1, 2] });
    expectRaw(perProtocol.raw, 'application/json', '{"forWebhooks":[1,2]}');

    // A string body: text/plain, byte for byte, even when it looks like JSON.
    for (const text of ['plain text ✓ — <b>not html</b>\nline two', '{"looks":"like json"}']) {
      const sent = await send({ body: text });
      expect(sent.envelope.body).toBe(text);
      expectRaw(sent.raw, TEXT, text);
    }

    // A JSON body: application/json, exactly the JSON that was published.
    const json = { a: 1, nested: { b: [1, 'two', null, true], 'ü-key': 'ö' }, n: -0.5 };
    const sentJson = await send({ body: json });
    expect(sentJson.envelope.body).toEqual(json);
    expectRaw(sentJson.raw, 'application/json', JSON.stringify(json));

    // A per-protocol string body under rawDelivery goes out as text.
    const textForWebhooks = await send({ body: { generic: 1 }, bodyByProtocol: { webhook: 'webhook text' } });
    expect(textForWebhooks.envelope.body).toBe('webhook text');
    expectRaw(textForWebhooks.raw, TEXT, 'webhook text');

    // Another protocol's body never reaches a webhook.
    const otherProtocol = await send({ body: 'generic', bodyByProtocol: { email: 'for email only' } });
    expect(otherProtocol.envelope.body).toBe('generic');
    expectRaw(otherProtocol.raw, TEXT, 'generic');
  });
});
