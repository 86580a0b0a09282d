import { describe, expect, it } from 'vitest';
import type { FilterPolicyScope, MessageAttributes } from '../types';
import { bodyForFiltering } from './body-for-filtering';
import { compileFilterPolicy, type FilterInput, type FilterPolicy } from './compile-filter-policy';

/**
 * The conformance table: one row per (policy, scope, message, expected). Rows marked "doc" restate the
 * examples of the SNS developer guide (string, numeric, key and IP matching, AND/OR logic, example
 * policies); the others pin down edges the guide leaves open, as Herald decided them.
 */
type Case = [message: unknown, expected: boolean];
type Row = [
  name: string,
  scope: FilterPolicyScope,
  policy: FilterPolicy,
  input: FilterInput,
  expected: boolean,
];

const rows: Row[] = [];

function short(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 90 ? `${text.slice(0, 87)}...` : text;
}

/** Attribute scope: each case's message is the attribute map (the body is a decoy that must be ignored). */
function attributes(policy: FilterPolicy, cases: Case[]): void {
  for (const [message, expected] of cases) {
    rows.push([
      `attributes ${short(policy)} on ${short(message)} -> ${expected}`,
      'attributes',
      policy,
      { attributes: message as MessageAttributes, body: { ...(message as object) } },
      expected,
    ]);
  }
}

/** Body scope: each case's message is the published body (the attributes are a decoy). */
function body(policy: FilterPolicy, cases: Case[]): void {
  for (const [message, expected] of cases) {
    const decoy = typeof message === 'object' && message !== null && !Array.isArray(message) ? message : {};
    rows.push([
      `body ${short(policy)} on ${short(message)} -> ${expected}`,
      'body',
      policy,
      { attributes: decoy as MessageAttributes, body: message },
      expected,
    ]);
  }
}

// --- attribute scope -------------------------------------------------------------------------------

// Exact string matching (doc), case-sensitive, OR within the list, String.Array any-element.
attributes({ customer_interests: ['rugby', 'tennis'] }, [
  [{ customer_interests: 'rugby' }, true],
  [{ customer_interests: 'tennis' }, true],
  [{ customer_interests: ['rugby', 'tennis'] }, true],
  [{ customer_interests: ['soccer', 'rugby', 'hockey'] }, true],
  [{ customer_interests: 'baseball' }, false],
  [{ customer_interests: ['baseball'] }, false],
  [{ customer_interests: [] }, false],
  [{ customer_interests: 'Rugby' }, false],
  [{ other: 'rugby' }, false],
  [{}, false],
]);
attributes({ store: [''] }, [
  [{ store: '' }, true],
  [{ store: ' ' }, false],
]);
attributes({ city: ['café'] }, [
  [{ city: 'café' }, true],
  [{ city: 'cafe' }, false],
]);
// Strings and numbers are distinct types.
attributes({ price: ['301'] }, [
  [{ price: 301 }, false],
  [{ price: '301' }, true],
]);
attributes({ price: [301] }, [
  [{ price: 301 }, true],
  [{ price: '301' }, false],
  [{ price: 302 }, false],
  [{ price: [50, 301] }, true],
  [{ price: ['301'] }, false],
]);
// Numbers compare at 5 decimals.
attributes({ price: [301.5] }, [
  [{ price: 3.015e2 }, true],
  [{ price: 301.500001 }, true],
  [{ price: 301.50001 }, false],
]);
attributes({ n: [0.00001] }, [
  [{ n: 0.00001 }, true],
  [{ n: 0.00002 }, false],
  [{ n: 0.000014 }, true],
]);
attributes({ n: [0] }, [
  [{ n: -0 }, true],
  [{ n: 0.000001 }, true],
]);
attributes({ n: [-5] }, [
  [{ n: -5 }, true],
  [{ n: 5 }, false],
]);
// Booleans (doc: `"encrypted": [false]` rejects a message without the attribute).
attributes({ encrypted: [false] }, [
  [{ encrypted: false }, true],
  [{ encrypted: true }, false],
  [{ encrypted: 'false' }, false],
  [{}, false],
]);
attributes({ a: [null] }, [
  [{ a: 'null' }, false],
  [{}, false],
]);

// Prefix (doc).
attributes({ customer_interests: [{ prefix: 'bas' }] }, [
  [{ customer_interests: 'baseball' }, true],
  [{ customer_interests: 'basketball' }, true],
  [{ customer_interests: 'rugby' }, false],
  [{ customer_interests: ['rugby', 'basketball'] }, true],
  [{ customer_interests: 'Baseball' }, false],
  [{ customer_interests: 'ba' }, false],
  [{}, false],
]);
attributes({ code: [{ prefix: '30' }] }, [
  [{ code: 301 }, false],
  [{ code: '301' }, true],
]);
// Suffix.
attributes({ file: [{ suffix: '.jpg' }] }, [
  [{ file: 'photo.jpg' }, true],
  [{ file: 'photo.png' }, false],
  [{ file: ['a.png', 'b.jpg'] }, true],
  [{ file: '.jpg' }, true],
  [{ file: 'photo.JPG' }, false],
]);
// Equals-ignore-case.
attributes({ name: [{ 'equals-ignore-case': 'ExAmPle' }] }, [
  [{ name: 'EXAMPLE' }, true],
  [{ name: 'example' }, true],
  [{ name: 'example ' }, false],
  [{ name: ['x', 'eXample'] }, true],
]);
attributes({ name: [{ 'equals-ignore-case': 'CAFÉ' }] }, [[{ name: 'café' }, true]]);
attributes({ n: [{ 'equals-ignore-case': '1' }] }, [
  [{ n: 1 }, false],
  [{ n: '1' }, true],
]);

// Anything-but, list (doc): a String.Array matches when some element is not excluded.
attributes({ customer_interests: [{ 'anything-but': ['rugby', 'tennis'] }] }, [
  [{ customer_interests: 'baseball' }, true],
  [{ customer_interests: 'football' }, true],
  [{ customer_interests: ['rugby', 'baseball'] }, true],
  [{ customer_interests: 'rugby' }, false],
  [{ customer_interests: ['rugby', 'tennis'] }, false],
  [{ customer_interests: [] }, false],
  [{ customer_interests: 5 }, true],
  [{ customer_interests: true }, true],
  [{}, false],
]);
// Anything-but with exists: false also admits messages without the attribute (doc).
attributes({ customer_interests: [{ 'anything-but': ['rugby'] }, { exists: false }] }, [
  [{}, true],
  [{ customer_interests: 'rugby' }, false],
  [{ customer_interests: 'golf' }, true],
]);
// Anything-but, single value (doc example policy).
attributes({ event: [{ 'anything-but': 'order_cancelled' }] }, [
  [{ event: 'order_placed' }, true],
  [{ event: 'order_cancelled' }, false],
]);
// Numeric anything-but (doc).
attributes({ price: [{ 'anything-but': [100, 500] }] }, [
  [{ price: 101 }, true],
  [{ price: 100.1 }, true],
  [{ price: [100, 50] }, true],
  [{ price: 100 }, false],
  [{ price: [100, 500] }, false],
  [{ price: '100' }, true],
]);
attributes({ price: [{ 'anything-but': 100 }] }, [
  [{ price: 100 }, false],
  [{ price: 100.000001 }, false],
  [{ price: 2e9 }, true],
]);
// Anything-but prefix (doc) and suffix; both apply to strings only.
attributes({ event: [{ 'anything-but': { prefix: 'order-' } }] }, [
  [{ event: 'data-entry' }, true],
  [{ event: 'order_number' }, true],
  [{ event: 'order-cancelled' }, false],
  [{ event: ['order-x', 'data'] }, true],
  [{ event: 5 }, false],
  [{}, false],
]);
attributes({ file: [{ 'anything-but': { suffix: '.tmp' } }] }, [
  [{ file: 'a.txt' }, true],
  [{ file: 'a.tmp' }, false],
  [{ file: ['a.tmp', 'b.tmp'] }, false],
  [{ file: ['a.tmp', 'b.txt'] }, true],
]);

// Numeric exact and ranges (doc).
attributes({ price_usd: [{ numeric: ['=', 301.5] }] }, [
  [{ price_usd: 301.5 }, true],
  [{ price_usd: 3.015e2 }, true],
  [{ price_usd: 301.50001 }, false],
  [{ price_usd: 301.500001 }, true],
  [{ price_usd: '301.5' }, false],
]);
attributes({ price_usd: [{ numeric: ['<', 0] }] }, [
  [{ price_usd: -1 }, true],
  [{ price_usd: -0.00001 }, true],
  [{ price_usd: 0 }, false],
  [{ price_usd: -0.000001 }, false],
]);
attributes({ price_usd: [{ numeric: ['<=', 0] }] }, [[{ price_usd: 0 }, true]]);
attributes({ price_usd: [{ numeric: ['>=', 100] }] }, [
  [{ price_usd: 100 }, true],
  [{ price_usd: 99.99999 }, false],
]);
attributes({ price_usd: [{ numeric: ['>', 0, '<=', 150] }] }, [
  [{ price_usd: 150 }, true],
  [{ price_usd: 0.00001 }, true],
  [{ price_usd: 0 }, false],
  [{ price_usd: 150.00001 }, false],
  [{ price_usd: [0, 200] }, false],
  [{ price_usd: [200, 75] }, true],
  [{ price_usd: true }, false],
  [{}, false],
]);
attributes({ price_usd: [{ numeric: ['>=', 100, '<', 200] }] }, [
  [{ price_usd: 100 }, true],
  [{ price_usd: 199.99999 }, true],
  [{ price_usd: 200 }, false],
]);
// The documented range is ±1e9; a message number beyond it never meets a numeric condition.
attributes({ n: [{ numeric: ['>', -1000000000] }] }, [
  [{ n: 1e9 }, true],
  [{ n: 1e9 + 1 }, false],
  [{ n: -1e9 }, false],
  [{ n: 2e9 }, false],
]);
attributes({ n: [{ numeric: ['<', 0] }, { numeric: ['>', 100] }] }, [
  [{ n: 50 }, false],
  [{ n: 150 }, true],
  [{ n: -3 }, true],
]);

// Key matching (doc).
attributes({ store: [{ exists: true }] }, [
  [{ store: 'fans', customer_interests: ['baseball', 'basketball'] }, true],
  [{ customer_interests: ['baseball', 'basketball'] }, false],
  [{ store: [] }, true],
  [{ store: false }, true],
]);
attributes({ store: [{ exists: false }] }, [
  [{ store: 'fans', customer_interests: ['baseball', 'basketball'] }, false],
  [{ customer_interests: ['baseball', 'basketball'] }, true],
]);
attributes({ store: [{ exists: false }, 'fans'] }, [
  [{ store: 'fans' }, true],
  [{ store: 'other' }, false],
  [{}, true],
]);

// IP address matching (doc) and its edges.
attributes({ source_ip: [{ cidr: '10.0.0.0/24' }] }, [
  [{ source_ip: '10.0.0.0' }, true],
  [{ source_ip: '10.0.0.255' }, true],
  [{ source_ip: '10.1.1.0' }, false],
  [{ source_ip: '10.0.1.0' }, false],
  [{ source_ip: 'not-an-ip' }, false],
  [{ source_ip: '10.0.0.256' }, false],
  [{ source_ip: '010.0.0.1' }, false],
  [{ source_ip: '10.0.0' }, false],
  [{ source_ip: ['1.1.1.1', '10.0.0.9'] }, true],
  [{ source_ip: 167772161 }, false],
]);
attributes({ ip: [{ cidr: '10.0.16.0/20' }] }, [
  [{ ip: '10.0.31.255' }, true],
  [{ ip: '10.0.32.0' }, false],
  [{ ip: '10.0.15.255' }, false],
]);
attributes({ ip: [{ cidr: '0.0.0.0/0' }] }, [
  [{ ip: '8.8.8.8' }, true],
  [{ ip: '::1' }, false],
]);
attributes({ ip: [{ cidr: '192.168.1.7/32' }] }, [
  [{ ip: '192.168.1.7' }, true],
  [{ ip: '192.168.1.8' }, false],
]);
attributes({ ip: [{ cidr: '10.0.0.77/24' }] }, [[{ ip: '10.0.0.1' }, true]]);
attributes({ ip: [{ cidr: '2001:db8::/32' }] }, [
  [{ ip: '2001:db8:1::1' }, true],
  [{ ip: '2001:DB8::ABCD' }, true],
  [{ ip: '2001:db9::1' }, false],
  [{ ip: '10.0.0.1' }, false],
  [{ ip: '2001:db8::1%eth0' }, false],
  [{ ip: '2001:db8:::1' }, false],
]);
attributes({ ip: [{ cidr: '::1/128' }] }, [
  [{ ip: '::1' }, true],
  [{ ip: '0:0:0:0:0:0:0:1' }, true],
  [{ ip: '::2' }, false],
]);
attributes({ ip: [{ cidr: '::ffff:0:0/96' }] }, [
  [{ ip: '::ffff:10.0.0.1' }, true],
  [{ ip: '10.0.0.1' }, false],
]);

// AND across keys (doc), other attributes ignored.
attributes({ customer_interests: ['rugby'], price_usd: [{ numeric: ['>', 100] }] }, [
  [{ customer_interests: 'rugby', price_usd: 150 }, true],
  [{ customer_interests: 'rugby', price_usd: 50 }, false],
  [{ customer_interests: 'rugby' }, false],
  [{ customer_interests: ['soccer', 'rugby'], price_usd: 100.5, store: 'x' }, true],
]);
// The example message of the SNS guide against its accepting and rejecting policies (doc).
const exampleMessage = {
  customer_interests: ['soccer', 'rugby', 'hockey'],
  store: 'example_corp',
  event: 'order_placed',
  price_usd: 210.75,
};
attributes(
  {
    store: ['example_corp'],
    event: [{ 'anything-but': 'order_cancelled' }],
    customer_interests: ['rugby', 'football', 'baseball'],
    price_usd: [{ numeric: ['>=', 100] }],
  },
  [[exampleMessage, true]],
);
attributes(
  {
    store: ['example_corp'],
    event: ['order_cancelled'],
    encrypted: [false],
    customer_interests: ['basketball', 'baseball'],
  },
  [[exampleMessage, false]],
);

// $or (doc: "source" && ("metricName" || "namespace")), nested $or, $or with exists.
attributes(
  { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'] }] },
  [
    [{ source: 'aws.cloudwatch', metricName: 'CPUUtilization' }, true],
    [{ source: 'aws.cloudwatch', namespace: 'AWS/EC2' }, true],
    [{ source: 'aws.cloudwatch', metricName: 'ReadLatency' }, false],
    [{ metricName: 'CPUUtilization' }, false],
  ],
);
attributes({ $or: [{ a: ['1'] }, { $or: [{ b: ['2'] }, { c: ['3'] }] }] }, [
  [{ c: '3' }, true],
  [{ a: '1' }, true],
  [{ d: '4' }, false],
]);
attributes({ $or: [{ a: [{ exists: false }] }, { a: ['x'] }] }, [
  [{}, true],
  [{ a: 'x' }, true],
  [{ a: 'y' }, false],
]);
attributes({ $or: [{ a: ['1'], b: ['2'] }, { c: ['3'] }] }, [
  [{ a: '1' }, false],
  [{ a: '1', b: '2' }, true],
  [{ c: '3', a: '9' }, true],
]);

// An empty policy filters nothing out; keys named like Object.prototype members are plain keys.
attributes({}, [
  [{}, true],
  [{ a: 'b' }, true],
]);
attributes({ constructor: [{ exists: false }] }, [[{}, true]]);
attributes({ toString: [{ exists: true }] }, [[{}, false]]);
attributes({ hasOwnProperty: ['x'] }, [[{ hasOwnProperty: 'x' }, true]]);

// --- body scope ------------------------------------------------------------------------------------

// Exact matching on a JSON body (doc), the body given as an object or as JSON text.
body({ customer_interests: ['rugby', 'tennis'] }, [
  [{ customer_interests: 'rugby' }, true],
  [{ customer_interests: 'baseball' }, false],
  ['{"customer_interests":"tennis"}', true],
  ['  \n{"customer_interests":"rugby"}', true],
  [{ customer_interests: ['soccer', 'rugby'] }, true],
  [{ customer_interests: [['soccer'], ['rugby']] }, true],
]);
// A body that is not a JSON object matches no body-scope policy.
body({ customer_interests: ['rugby'] }, [
  ['rugby', false],
  ['["rugby"]', false],
  ['"rugby"', false],
  ['{"customer_interests":', false],
  [['rugby'], false],
  [null, false],
  [undefined, false],
  [42, false],
  [true, false],
]);
// Nested keys mirror the body's nesting.
body({ store: { name: ['example_corp'] } }, [
  [{ store: { name: 'example_corp' } }, true],
  [{ store: { name: 'other' } }, false],
  [{ store: 'example_corp' }, false],
  [{ name: 'example_corp' }, false],
  [{}, false],
]);
body({ a: { b: { c: [{ prefix: 'x' }] } }, d: ['1'] }, [
  [{ a: { b: { c: 'xyz' } }, d: '1' }, true],
  [{ a: { b: { c: 'xyz' } }, d: '2' }, false],
  [{ a: { b: { c: ['no', 'xx'] } }, d: ['0', '1'] }, true],
]);
// A dotted key is a path, matching every way the body splits it (as SNS does), in the policy and the body.
const splits: Case[] = [
  [{ a: { b: { c: 'x' } } }, true],
  [{ 'a.b.c': 'x' }, true],
  [{ 'a.b': { c: 'x' } }, true],
  [{ a: { 'b.c': 'x' } }, true],
  [{ a: [{ 'b.c': 'x' }] }, true],
  [{ a: { b: { c: 'y' } }, 'a.b.c': 'x' }, true],
  [{ a: { b: { c: 'y' } } }, false],
  [{ 'a.b.c': 'y', a: { 'b.d': 'x' } }, false],
  [{ 'a.bc': 'x' }, false],
  [{ ab: { c: 'x' } }, false],
  [{}, false],
];
body({ 'a.b.c': ['x'] }, splits);
body({ a: { 'b.c': ['x'] } }, splits);
body({ 'a.b': { c: ['x'] } }, splits);
body({ a: { b: { c: ['x'] } } }, splits);
body({ 'a.b': ['1'] }, [
  [{ a: { b: '1' } }, true],
  [{ 'a.b': '1' }, true],
  [{ a: { b: '2' } }, false],
]);
// Entries under one path make one object, written nested or dotted, and hold within one array element.
body({ a: { b: ['x'] }, 'a.c': ['y'] }, [
  [{ a: { b: 'x', c: 'y' } }, true],
  [{ a: { b: 'x' }, 'a.c': 'y' }, true],
  [{ 'a.b': 'x', 'a.c': 'y' }, true],
  [{ a: [{ b: 'x' }, { c: 'y' }] }, false],
  [{ a: { b: 'x' } }, false],
]);
body({ 'a.b': [{ exists: false }] }, [
  [{ a: { c: 1 } }, true],
  [{ 'a.b': 1 }, false],
  [{ a: { b: 1 } }, false],
]);
// Arrays of objects: the nested policy must hold within one element (S3-style Records).
body({ Records: { s3: { bucket: { name: ['b1'] } } } }, [
  [{ Records: [{ s3: { bucket: { name: 'b0' } } }, { s3: { bucket: { name: 'b1' } } }] }, true],
  [{ Records: [{ s3: { bucket: { name: 'b0' } } }] }, false],
  [{ Records: [] }, false],
]);
body({ items: { a: [1], b: [4] } }, [
  [
    {
      items: [
        { a: 1, b: 2 },
        { a: 3, b: 4 },
      ],
    },
    false,
  ],
  [{ items: [{ a: 1, b: 4 }] }, true],
  [{ items: [[{ a: 1, b: 4 }]] }, true],
  [{ items: ['x', { a: 1, b: 4 }] }, true],
  [{ items: { a: 1, b: 4 } }, true],
]);
// Numbers as JSON writes them, strings and numbers distinct.
body({ price: [{ numeric: ['=', 301.5] }] }, [
  ['{"price":3.015e2}', true],
  ['{"price":301.5}', true],
  ['{"price":"301.5"}', false],
]);
body({ price: [301] }, [
  ['{"price":301.0}', true],
  ['{"price":"301"}', false],
  ['{"price":1e400}', false],
]);
body({ price: ['301'] }, [[{ price: 301 }, false]]);
body({ price: [{ numeric: ['>', 0, '<', 10] }] }, [
  [{ price: 5 }, true],
  [{ price: [20, 5] }, true],
  [{ price: 1e10 }, false],
  [{ price: '5' }, false],
]);
body({ price: [{ 'anything-but': [1] }] }, [
  ['{"price":1e400}', true],
  [{ price: 1 }, false],
]);
// Booleans and null.
body({ flag: [true] }, [
  [{ flag: true }, true],
  [{ flag: 'true' }, false],
  [{ flag: false }, false],
]);
body({ x: [null] }, [
  [{ x: null }, true],
  [{ x: 'null' }, false],
  [{}, false],
  [{ x: [1, null] }, true],
]);
// Key matching: a key exists when a scalar (null included) sits at its path.
body({ x: [{ exists: true }] }, [
  [{ x: null }, true],
  [{ x: 'a' }, true],
  [{ x: [1] }, true],
  [{ x: { y: 1 } }, false],
  [{ x: [] }, false],
  [{ x: [[]] }, false],
  [{}, false],
]);
body({ x: [{ exists: false }] }, [
  [{ x: { y: 1 } }, true],
  [{ x: [] }, true],
  [{ x: 0 }, false],
  [{}, true],
]);
body({ store: { name: [{ exists: false }] } }, [
  [{ store: {} }, true],
  [{}, true],
  [{ store: 'x' }, true],
  [{ store: { name: 'a' } }, false],
]);
body({ store: { name: [{ exists: true }] } }, [
  [{}, false],
  [{ store: { name: 'a' } }, true],
]);
// Within an array of objects, exists: false holds when some element lacks the key.
body({ items: { c: [{ exists: false }] } }, [
  [{ items: [{ c: 1 }, { d: 1 }] }, true],
  [{ items: [{ c: 1 }] }, false],
]);
// A nested policy where the body has no object: only exists: false can hold.
body({ a: { b: ['1'] } }, [
  [{ a: ['1'] }, false],
  [{ a: '1' }, false],
  [{ a: null }, false],
]);
// String operators on the body.
body({ customer_interests: [{ 'anything-but': ['rugby', 'tennis'] }] }, [
  [{ customer_interests: ['rugby', 'baseball'] }, true],
  [{ customer_interests: 'rugby' }, false],
  [{}, false],
  [{ customer_interests: null }, true],
]);
body({ f: [{ suffix: '.csv' }, { prefix: 'tmp/' }] }, [
  [{ f: 'data/x.csv' }, true],
  [{ f: 'tmp/x.json' }, true],
  [{ f: 'data/x.json' }, false],
]);
body({ s: [{ 'equals-ignore-case': 'success' }] }, [
  [{ s: 'SUCCESS' }, true],
  [{ s: 'failure' }, false],
]);
body({ detail: { 'source-ip': [{ cidr: '10.0.0.0/16' }] } }, [
  [{ detail: { 'source-ip': '10.0.255.1' } }, true],
  [{ detail: { 'source-ip': '10.1.0.1' } }, false],
]);
body({ k: [{ 'anything-but': { prefix: 'init' } }] }, [
  [{ k: 'initializing' }, false],
  [{ k: 'running' }, true],
]);
body({ k: [{ 'anything-but': { suffix: '.tmp' } }] }, [
  [{ k: 'x.tmp' }, false],
  [{ k: 'x.txt' }, true],
]);
// $or in body scope, at the top and inside a nested object, mixing depths.
body(
  {
    source: ['aws.s3'],
    $or: [{ detail: { flag: [false] } }, { detail: { price: [{ numeric: ['>', 10] }] } }],
  },
  [
    [{ source: 'aws.s3', detail: { flag: false } }, true],
    [{ source: 'aws.s3', detail: { price: 11 } }, true],
    [{ source: 'aws.s3', detail: { flag: true, price: 10 } }, false],
    [{ source: 'aws.ec2', detail: { flag: false } }, false],
  ],
);
body({ detail: { $or: [{ x: ['1'] }, { y: ['2'] }] } }, [
  [{ detail: { y: '2' } }, true],
  [{ detail: { z: '2' } }, false],
  [{ detail: [{ z: 0 }, { x: '1' }] }, true],
]);
body({ $or: [{ a: { b: ['1'] } }, { c: ['2'] }] }, [
  [{ c: '2' }, true],
  [{ a: { b: '1' } }, true],
  [{ a: { c: '2' } }, false],
]);
// Keys named like Object.prototype members are plain keys.
body({ constructor: { name: ['Object'] } }, [[{}, false]]);
// An object literal would make `__proto__` the prototype; JSON.parse makes it an own key, as the API does.
body(JSON.parse('{"__proto__":["x"]}') as FilterPolicy, [
  ['{"__proto__":"x"}', true],
  [{}, false],
]);
// The empty policy matches every message, even a non-JSON body.
body({}, [
  ['plain text', true],
  [{ a: 1 }, true],
]);

describe('filter policy conformance', () => {
  it('has at least 150 rows', () => {
    expect(rows.length).toBeGreaterThanOrEqual(150);
  });

  it.each(rows)('%s', (_name, scope, policy, input, expected) => {
    const compiled = compileFilterPolicy(policy, scope);
    expect(compiled.matches(input)).toBe(expected);
    if (scope === 'body') {
      // The fan-out passes the body parsed once per message; that path must agree.
      expect(compiled.matches({ ...input, parsedBody: bodyForFiltering(input.body) })).toBe(expected);
    }
  });
});

describe('parsedBody', () => {
  it('is used instead of the body when present, even when undefined', () => {
    const compiled = compileFilterPolicy({ a: ['1'] }, 'body');
    expect(compiled.matches({ attributes: {}, body: 'not json', parsedBody: { a: '1' } })).toBe(true);
    expect(compiled.matches({ attributes: {}, body: { a: '1' }, parsedBody: undefined })).toBe(false);
  });
});

describe('bodyForFiltering', () => {
  it.each<[unknown, unknown]>([
    [{ a: 1 }, { a: 1 }],
    ['{"a":1}', { a: 1 }],
    [' \t{"a":[1]}', { a: [1] }],
    ['[1]', undefined],
    ['{"a":', undefined],
    ['hello', undefined],
    [[{ a: 1 }], undefined],
    [null, undefined],
    [7, undefined],
  ])('%j -> %j', (input, expected) => {
    expect(bodyForFiltering(input)).toEqual(expected);
  });

  it('returns an object body itself, without copying', () => {
    const object = { a: 1 };
    expect(bodyForFiltering(object)).toBe(object);
  });
});
