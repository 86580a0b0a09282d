import { describe, expect, it } from 'vitest';
import type { FilterPolicyScope } from '../types';
import { compileFilterPolicy, type FilterPolicy } from './compile-filter-policy';
import { FilterPolicyError } from './filter-policy-error';
import { validateFilterPolicy } from './validate-filter-policy';

type Invalid = [policy: unknown, scope: FilterPolicyScope, field: string, message: string | RegExp];

const invalid: Invalid[] = [
  // Shape of the policy and of its keys.
  [null, 'attributes', 'filterPolicy', 'must be a JSON object'],
  [['a'], 'attributes', 'filterPolicy', 'must be a JSON object'],
  ['{"a":["b"]}', 'body', 'filterPolicy', 'must be a JSON object'],
  [{ a: 'b' }, 'attributes', 'filterPolicy.a', 'must be an array of match values'],
  [{ a: 'b' }, 'body', 'filterPolicy.a', 'must be an array of match values or a nested object'],
  [{ a: 5 }, 'body', 'filterPolicy.a', 'must be an array of match values or a nested object'],
  [{ a: null }, 'body', 'filterPolicy.a', 'must be an array of match values or a nested object'],
  [{ a: [] }, 'attributes', 'filterPolicy.a', 'must contain at least one match value'],
  [{ a: { b: [] } }, 'body', 'filterPolicy.a.b', 'must contain at least one match value'],
  [{ a: {} }, 'body', 'filterPolicy.a', 'must contain at least one key'],
  [
    { a: { b: ['c'] } },
    'attributes',
    'filterPolicy.a',
    'attribute-scope policies cannot nest objects; use filterPolicyScope "body" to filter on a JSON body',
  ],
  [{ 'bad name': ['x'] }, 'attributes', 'filterPolicy.bad name', /not a valid attribute name/],
  [
    { ['x'.repeat(257)]: ['x'] },
    'attributes',
    `filterPolicy.${'x'.repeat(257)}`,
    /not a valid attribute name/,
  ],
  // Match values.
  [
    { a: [['b']] },
    'attributes',
    'filterPolicy.a[0]',
    /must be a string, number, true, false, null or an operator/,
  ],
  [
    { a: ['ok', ['b']] },
    'body',
    'filterPolicy.a[1]',
    /must be a string, number, true, false, null or an operator/,
  ],
  [
    { a: [{}] },
    'attributes',
    'filterPolicy.a[0]',
    'an operator object must have exactly one operator, found 0',
  ],
  [
    { a: [{ prefix: 'x', suffix: 'y' }] },
    'attributes',
    'filterPolicy.a[0]',
    'an operator object must have exactly one operator, found 2 ("prefix", "suffix")',
  ],
  [
    { a: [{ wildcard: '*.png' }] },
    'attributes',
    'filterPolicy.a[0]',
    'unknown operator "wildcard"; expected one of prefix, suffix, equals-ignore-case, anything-but, numeric, exists, cidr',
  ],
  [{ a: [{ Prefix: 'x' }] }, 'attributes', 'filterPolicy.a[0]', /unknown operator "Prefix"/],
  [
    { a: [1e10] },
    'attributes',
    'filterPolicy.a[0]',
    'number 10000000000 is outside the supported range -1000000000 to 1000000000',
  ],
  [{ a: [-1000000000.5] }, 'attributes', 'filterPolicy.a[0]', /outside the supported range/],
  // prefix, suffix, equals-ignore-case, exists, cidr operands.
  [{ a: [{ prefix: 5 }] }, 'attributes', 'filterPolicy.a[0]', 'prefix must be a non-empty string'],
  [{ a: [{ prefix: '' }] }, 'attributes', 'filterPolicy.a[0]', 'prefix must be a non-empty string'],
  [{ a: [{ suffix: ['x'] }] }, 'body', 'filterPolicy.a[0]', 'suffix must be a non-empty string'],
  [
    { a: [{ 'equals-ignore-case': 1 }] },
    'attributes',
    'filterPolicy.a[0]',
    'equals-ignore-case must be a string',
  ],
  [{ a: [{ exists: 'true' }] }, 'attributes', 'filterPolicy.a[0]', 'exists must be true or false'],
  [{ a: [{ exists: 1 }] }, 'body', 'filterPolicy.a[0]', 'exists must be true or false'],
  [{ a: [{ cidr: 10 }] }, 'attributes', 'filterPolicy.a[0]', /cidr must be a string/],
  [
    { a: [{ cidr: '10.0.0.0' }] },
    'attributes',
    'filterPolicy.a[0]',
    'cidr "10.0.0.0" is not an IPv4 or IPv6 network such as "10.0.0.0/24"',
  ],
  [{ a: [{ cidr: '10.0.0.0/33' }] }, 'attributes', 'filterPolicy.a[0]', /cidr "10.0.0.0\/33" is not/],
  [{ a: [{ cidr: '10.0.0.300/24' }] }, 'attributes', 'filterPolicy.a[0]', /is not an IPv4 or IPv6 network/],
  [{ a: [{ cidr: '10.0.0.0/24/1' }] }, 'attributes', 'filterPolicy.a[0]', /is not an IPv4 or IPv6 network/],
  [{ a: [{ cidr: '10.0.0.0/x' }] }, 'attributes', 'filterPolicy.a[0]', /is not an IPv4 or IPv6 network/],
  [{ a: [{ cidr: '2001:db8::/129' }] }, 'attributes', 'filterPolicy.a[0]', /is not an IPv4 or IPv6 network/],
  [{ a: [{ cidr: '2001:db8:::/32' }] }, 'attributes', 'filterPolicy.a[0]', /is not an IPv4 or IPv6 network/],
  [{ a: [{ cidr: '1.2.3.4::/32' }] }, 'attributes', 'filterPolicy.a[0]', /is not an IPv4 or IPv6 network/],
  // numeric.
  [
    { price: [{ numeric: 5 }] },
    'attributes',
    'filterPolicy.price[0]',
    /^numeric must be \[operator, number\]/,
  ],
  [
    { price: [{ numeric: [] }] },
    'attributes',
    'filterPolicy.price[0]',
    /^numeric must be \[operator, number\]/,
  ],
  [
    { price: [{ numeric: ['>', 1, '<'] }] },
    'attributes',
    'filterPolicy.price[0]',
    /^numeric must be \[operator, number\]/,
  ],
  [
    { price: [{ numeric: ['!=', 1] }] },
    'attributes',
    'filterPolicy.price[0]',
    'unknown numeric operator "!="; expected one of =, <, <=, >, >=',
  ],
  [{ price: [{ numeric: [1, '>'] }] }, 'attributes', 'filterPolicy.price[0]', /unknown numeric operator 1/],
  [
    { price: [{ numeric: ['>', '5'] }] },
    'attributes',
    'filterPolicy.price[0]',
    'the operand of ">" must be a number',
  ],
  [
    { price: [{ numeric: ['>', 0, '<', null] }] },
    'attributes',
    'filterPolicy.price[0]',
    'the operand of "<" must be a number',
  ],
  [
    { price: [{ numeric: ['>', 10, '<', 5] }] },
    'attributes',
    'filterPolicy.price[0]',
    'numeric range lower bound 10 is greater than upper bound 5',
  ],
  [
    { price: [{ numeric: ['>=', 5, '<=', 5] }] },
    'body',
    'filterPolicy.price[0]',
    'numeric range lower bound 5 must be less than upper bound 5 (to 5 decimals)',
  ],
  [
    { price: [{ numeric: ['>', 1.000001, '<', 1.000002] }] },
    'attributes',
    'filterPolicy.price[0]',
    /lower bound 1.000001 must be less than upper bound 1.000002/,
  ],
  [
    { price: [{ numeric: ['<', 5, '>', 1] }] },
    'attributes',
    'filterPolicy.price[0]',
    'a numeric range must be [">" or ">=", lower, "<" or "<=", upper]',
  ],
  [
    { price: [{ numeric: ['=', 1, '<', 5] }] },
    'attributes',
    'filterPolicy.price[0]',
    /a numeric range must be/,
  ],
  [
    { price: [{ numeric: ['>', 0, '>', 5] }] },
    'attributes',
    'filterPolicy.price[0]',
    /a numeric range must be/,
  ],
  [
    { price: [{ numeric: ['>', 2e9] }] },
    'attributes',
    'filterPolicy.price[0]',
    /number 2000000000 is outside the supported range/,
  ],
  // anything-but.
  [{ a: [{ 'anything-but': [] }] }, 'attributes', 'filterPolicy.a[0]', 'anything-but list must not be empty'],
  [
    { a: [{ 'anything-but': [true] }] },
    'attributes',
    'filterPolicy.a[0]',
    'anything-but values must be strings or numbers',
  ],
  [
    { a: [{ 'anything-but': ['x', null] }] },
    'attributes',
    'filterPolicy.a[0]',
    'anything-but values must be strings or numbers',
  ],
  [
    { a: [{ 'anything-but': true }] },
    'attributes',
    'filterPolicy.a[0]',
    /^anything-but must be a string, a number, a list/,
  ],
  [
    { a: [{ 'anything-but': null }] },
    'body',
    'filterPolicy.a[0]',
    /^anything-but must be a string, a number, a list/,
  ],
  [
    { a: [{ 'anything-but': { wildcard: '*' } }] },
    'attributes',
    'filterPolicy.a[0]',
    'anything-but takes {"prefix": "…"} or {"suffix": "…"}, found ("wildcard")',
  ],
  [{ a: [{ 'anything-but': {} }] }, 'attributes', 'filterPolicy.a[0]', /anything-but takes .* found {}/],
  [
    { a: [{ 'anything-but': { prefix: 'a', suffix: 'b' } }] },
    'attributes',
    'filterPolicy.a[0]',
    /found \("prefix", "suffix"\)/,
  ],
  [
    { a: [{ 'anything-but': { prefix: '' } }] },
    'attributes',
    'filterPolicy.a[0]',
    'anything-but prefix must be a non-empty string',
  ],
  [
    { a: [{ 'anything-but': { suffix: 3 } }] },
    'attributes',
    'filterPolicy.a[0]',
    'anything-but suffix must be a non-empty string',
  ],
  [{ a: [{ 'anything-but': [5e9] }] }, 'attributes', 'filterPolicy.a[0]', /outside the supported range/],
  // $or.
  [
    { $or: [{ a: ['1'] }] },
    'attributes',
    'filterPolicy.$or',
    'must be an array of at least 2 policy objects',
  ],
  [{ $or: { a: ['1'] } }, 'attributes', 'filterPolicy.$or', 'must be an array of at least 2 policy objects'],
  [{ $or: [{ a: ['1'] }, 'b'] }, 'attributes', 'filterPolicy.$or[1]', 'must be a policy object'],
  [{ $or: [{ a: ['1'] }, {}] }, 'attributes', 'filterPolicy.$or[1]', 'must contain at least one key'],
  [
    { $or: [{ a: ['1'] }, { store: [{ prefix: 1 }] }] },
    'attributes',
    'filterPolicy.$or[1].store[0]',
    'prefix must be a non-empty string',
  ],
  [
    { a: { $or: [{ b: ['1'] }, { c: { d: [] } }] } },
    'body',
    'filterPolicy.a.$or[1].c.d',
    'must contain at least one match value',
  ],
  // Limits: keys, combinations, depth, size.
  [
    { a: ['1'], b: ['1'], c: ['1'], d: ['1'], e: ['1'], f: ['1'] },
    'attributes',
    'filterPolicy',
    'has 6 attribute names ("a", "b", "c", "d", "e", "f"); at most 5 are allowed',
  ],
  [
    { a: ['1'], b: ['1'], c: ['1'], $or: [{ d: ['1'] }, { e: ['1'], f: ['1'] }] },
    'attributes',
    'filterPolicy',
    /^has 6 attribute names/,
  ],
  [
    { a: ['1'], b: ['1'], c: ['1'], d: ['1'], e: ['1'], f: { g: ['1'] } },
    'body',
    'filterPolicy',
    /^has 6 top-level keys/,
  ],
  [
    { a: ['1', '2', '3', '4', '5', '6'], b: ['1', '2', '3', '4', '5'], c: ['1', '2', '3', '4', '5', '6'] },
    'attributes',
    'filterPolicy',
    /^has 180 combinations of values .* at most 150 are allowed$/,
  ],
  [
    { a: Array.from({ length: 151 }, (_, i) => String(i)) },
    'attributes',
    'filterPolicy',
    /^has 151 combinations of values/,
  ],
  [
    {
      a: Array.from({ length: 10 }, String),
      $or: [{ b: Array.from({ length: 10 }, String) }, { c: ['1', '2', '3', '4', '5', '6'] }],
    },
    'attributes',
    'filterPolicy',
    /^has 160 combinations of values/,
  ],
  [
    { x: { a: Array.from({ length: 16 }, String), b: { c: Array.from({ length: 10 }, String) } } },
    'body',
    'filterPolicy',
    /^has 960 combinations of values/,
  ],
  // The SNS guide's example: each array's length times its nesting depth, (4 × 3) × (3 × 2) × (3 × 1).
  [
    {
      key_a: { key_b: { key_c: ['v1', 'v2', 'v3', 'v4'] } },
      key_d: { key_e: ['v1', 'v2', 'v3'] },
      key_f: ['v1', 'v2', 'v3'],
    },
    'body',
    'filterPolicy',
    /^has 216 combinations of values \(the product of the value-array lengths, each times its nesting depth/,
  ],
  // A dotted key is as deep as the path it names.
  [
    { 'a.b.c': Array.from({ length: 51 }, String) },
    'body',
    'filterPolicy',
    /^has 153 combinations of values/,
  ],
  [{ 'a.b': {} }, 'body', 'filterPolicy.a.b', 'must contain at least one key'],
  [
    { 'a.b.c.d.e.f.g.h.i.j.k': ['deep'] },
    'body',
    'filterPolicy.a.b.c.d.e.f.g.h.i.j',
    'nests deeper than 10 levels',
  ],
  [
    { a: { b: { c: { d: { e: { f: { g: { h: { i: { j: { k: ['deep'] } } } } } } } } } } },
    'body',
    'filterPolicy.a.b.c.d.e.f.g.h.i.j',
    'nests deeper than 10 levels',
  ],
  [
    {
      $or: [
        { a: ['1'] },
        {
          $or: [
            { a: ['1'] },
            {
              $or: [
                { a: ['1'] },
                {
                  $or: [
                    { a: ['1'] },
                    {
                      $or: [
                        { a: ['1'] },
                        {
                          $or: [
                            { a: ['1'] },
                            {
                              $or: [
                                { a: ['1'] },
                                {
                                  $or: [
                                    { a: ['1'] },
                                    { $or: [{ a: ['1'] }, { $or: [{ a: ['1'] }, { b: ['1'] }] }] },
                                  ],
                                },
                              ],
                            },
                          ],
                        },
                      ],
                    },
                  ],
                },
              ],
            },
          ],
        },
      ],
    },
    'attributes',
    'filterPolicy.$or[1].$or[1].$or[1].$or[1].$or[1].$or[1].$or[1].$or[1].$or[1].$or',
    'nests deeper than 10 levels',
  ],
  [
    { big: ['x'.repeat(300 * 1024)] },
    'attributes',
    'filterPolicy',
    /^is 307\d{3} bytes as JSON; at most 262144 \(256 KB\) are allowed$/,
  ],
];

const valid: [policy: FilterPolicy, scope: FilterPolicyScope][] = [
  [{}, 'attributes'],
  [{}, 'body'],
  [{ a: ['x', 1, true, false, null] }, 'attributes'],
  [{ a: [{ prefix: 'x' }, { suffix: 'y' }, { 'equals-ignore-case': '' }, { exists: true }] }, 'attributes'],
  [{ a: [{ 'anything-but': 'x' }, { 'anything-but': 1 }, { 'anything-but': ['x', 2] }] }, 'attributes'],
  [{ a: [{ 'anything-but': { prefix: 'x' } }, { 'anything-but': { suffix: 'y' } }] }, 'attributes'],
  [{ a: [{ numeric: ['=', 1] }, { numeric: ['>', -1e9, '<=', 1e9] }, { numeric: ['<', 0] }] }, 'attributes'],
  [{ a: [{ cidr: '10.0.0.0/8' }, { cidr: '::/0' }, { cidr: '::ffff:10.0.0.0/104' }] }, 'attributes'],
  [{ 'a.b-c_D9': ['x'], ['x'.repeat(256)]: ['y'] }, 'attributes'],
  [{ 'any key at all': { ü: ['x'] } }, 'body'],
  // Exactly at the limits: 5 keys, 150 combinations (doc example for $or: 2×2 + 2×1×2 + 2×1×3 = 14), depth 10.
  [{ a: ['1'], b: ['1'], c: ['1'], d: ['1'], e: ['1'] }, 'attributes'],
  [{ a: Array.from({ length: 150 }, String) }, 'attributes'],
  [
    { a: ['1', '2', '3', '4', '5'], b: ['1', '2', '3', '4', '5', '6'], c: ['1', '2', '3', '4', '5'] },
    'attributes',
  ],
  [
    {
      source: ['aws.cloudwatch', 'aws.ec2'],
      $or: [
        { metricName: ['CPUUtilization', 'ReadLatency'] },
        { metricType: ['MetricType'], $or: [{ metricId: [1234, 4321] }, { spaceId: [1000, 2000, 3000] }] },
      ],
    },
    'attributes',
  ],
  [{ a: { b: { c: { d: { e: { f: { g: { h: { i: { j: ['deep'] } } } } } } } } } }, 'body'],
  // $or branches add up (5 × (10 + 10) = 100), they do not multiply (5 × 10 × 10 = 500).
  [
    {
      a: ['1', '2', '3', '4', '5'],
      $or: [{ b: Array.from({ length: 10 }, String) }, { c: Array.from({ length: 10 }, String) }],
    },
    'attributes',
  ],
  [{ a: ['1'], b: ['1'], c: ['1'], d: ['1'], e: { f: ['1'], g: ['1'], h: ['1'] } }, 'body'],
  // Depth multiplies: (4 × 3) × (3 × 1) = 36, and 50 values two levels down are 100.
  [{ key_a: { key_b: { key_c: ['v1', 'v2', 'v3', 'v4'] } }, key_f: ['v1', 'v2', 'v3'] }, 'body'],
  [{ 'a.b': Array.from({ length: 50 }, String) }, 'body'],
  // Five top-level keys whatever the depth below them, dotted or nested.
  [{ 'a.x': ['1'], 'a.y': ['1'], b: ['1'], c: ['1'], d: ['1'], 'e.z': ['1'] }, 'body'],
];

describe('validateFilterPolicy', () => {
  it.each(invalid)('refuses %j in %s scope at %s', (policy, scope, field, message) => {
    const errors = validateFilterPolicy(policy, scope);
    const match = errors.find((e) => e.field === field);
    expect(match, JSON.stringify(errors)).toBeDefined();
    if (typeof message === 'string') expect(match!.message).toBe(message);
    else expect(match!.message).toMatch(message);
  });

  it.each(valid)('accepts %j in %s scope', (policy, scope) => {
    expect(validateFilterPolicy(policy, scope)).toEqual([]);
  });

  it('refuses an unknown scope', () => {
    expect(validateFilterPolicy({ a: ['1'] }, 'MessageBody' as FilterPolicyScope)).toEqual([
      { field: 'filterPolicyScope', message: 'must be "attributes" or "body"' },
    ]);
  });

  it('reports every mistake, up to 20', () => {
    const errors = validateFilterPolicy({ a: [], b: [{ prefix: 1 }], c: 'x' }, 'attributes');
    expect(errors.map((e) => e.field)).toEqual(['filterPolicy.a', 'filterPolicy.b[0]', 'filterPolicy.c']);
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, []]));
    expect(validateFilterPolicy(many, 'attributes')).toHaveLength(20);
  });

  it('refuses a policy that cannot be serialized, without throwing', () => {
    const cyclic: Record<string, unknown> = { a: ['1'] };
    cyclic.self = cyclic;
    expect(validateFilterPolicy(cyclic, 'body')).toEqual([
      { field: 'filterPolicy', message: 'must be plain JSON (it could not be serialized)' },
    ]);
    expect(validateFilterPolicy({ a: [BigInt(1)] }, 'attributes')[0].field).toBe('filterPolicy');
  });

  it('counts the policy size in UTF-8 bytes', () => {
    const ascii = { a: ['x'.repeat(262_000)] };
    const multibyte = { a: ['é'.repeat(131_100)] };
    expect(validateFilterPolicy(ascii, 'attributes')).toEqual([]);
    expect(validateFilterPolicy(multibyte, 'attributes')[0].message).toMatch(/bytes as JSON/);
  });
});

describe('compileFilterPolicy', () => {
  it('throws FilterPolicyError carrying the same errors as validateFilterPolicy', () => {
    const policy = { price: [{ numeric: ['>', 10, '<', 5] }], $or: [{ a: ['1'] }] };
    const expected = validateFilterPolicy(policy, 'attributes');
    expect(expected).toHaveLength(2);
    let thrown: unknown;
    try {
      compileFilterPolicy(policy, 'attributes');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(FilterPolicyError);
    expect((thrown as FilterPolicyError).errors).toEqual(expected);
    expect((thrown as FilterPolicyError).message).toBe(
      'invalid filter policy: filterPolicy.price[0] numeric range lower bound 10 is greater than upper bound 5 (and 1 more)',
    );
  });

  it('refuses an unknown scope', () => {
    expect(() => compileFilterPolicy({}, 'all' as FilterPolicyScope)).toThrow(FilterPolicyError);
  });
});
