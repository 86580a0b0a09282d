import { BlockList, isIPv4 } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { FilterPolicyScope, MessageAttributes } from '../types';
import { bodyForFiltering } from './body-for-filtering';
import { compileFilterPolicy, type FilterInput, type FilterPolicy } from './compile-filter-policy';
import { FilterPolicyError } from './filter-policy-error';
import { validateFilterPolicy } from './validate-filter-policy';

/** mulberry32: small, fast and seeded, so a failure reproduces from the seed printed with it. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  constructor(readonly random: () => number) {}
  int(n: number): number {
    return Math.floor(this.random() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  chance(p: number): boolean {
    return this.random() < p;
  }
}

const KEYS = ['a', 'b', 'c', 'store', 'ip'];
const STRINGS = [
  'x',
  'X',
  'xy',
  'yx',
  'order-1',
  'order_1',
  'photo.jpg',
  'a.tmp',
  '',
  '10.0.0.5',
  '10.1.0.5',
  '2001:db8::1',
  'ÉTÉ',
  'été',
];
const NUMBERS = [0, 1, -1, 1.5, 1.000001, 1.00001, 100, 150, 150.00001, 1e9, -1e9, 2e9, 301.5];
const IPS = [
  '10.0.0.5',
  '10.0.255.255',
  '10.1.0.5',
  '192.168.1.1',
  '0.0.0.0',
  '255.255.255.255',
  '2001:db8::1',
  '2001:db9::1',
  '::1',
  'fe80::1',
];

function scalarFor(g: Gen): unknown {
  switch (g.int(5)) {
    case 0:
    case 1:
      return g.pick(STRINGS);
    case 2:
      return g.pick(NUMBERS);
    case 3:
      return g.pick(IPS);
    default:
      return g.pick([true, false]);
  }
}

function condition(g: Gen): unknown {
  switch (g.int(16)) {
    case 0:
    case 1:
      return g.pick(STRINGS);
    case 2:
      return g.pick(NUMBERS.filter((n) => Math.abs(n) <= 1e9));
    case 3:
      return g.pick([true, false, null]);
    case 4:
      return { prefix: g.pick(['x', 'order-', 'ph', '10.']) };
    case 5:
      return { suffix: g.pick(['y', '.jpg', '.tmp', '1']) };
    case 6:
      return { 'equals-ignore-case': g.pick(['x', 'été', 'XY']) };
    case 7:
      return { 'anything-but': g.pick<unknown>(['x', 1, ['x', 'xy'], [1, 100], ['x', 1]]) };
    case 8:
      return { 'anything-but': { [g.pick(['prefix', 'suffix'])]: g.pick(['order', 'x', '.tmp']) } };
    case 9:
      return { numeric: [g.pick(['=', '<', '<=', '>', '>=']), g.pick([0, 1, 1.5, 100, -1])] };
    case 10:
      return {
        numeric: [g.pick(['>', '>=']), g.pick([-1, 0, 1]), g.pick(['<', '<=']), g.pick([1.5, 100, 150])],
      };
    case 11:
      return { exists: g.pick([true, false]) };
    case 12:
      return {
        cidr: g.pick([
          '10.0.0.0/16',
          '10.0.0.0/8',
          '0.0.0.0/0',
          '2001:db8::/32',
          '::1/128',
          '192.168.1.0/24',
        ]),
      };
    default:
      return g.pick(STRINGS);
  }
}

function policyFor(g: Gen, scope: FilterPolicyScope, depth = 1): FilterPolicy {
  const policy: FilterPolicy = {};
  const keyCount = 1 + g.int(3);
  for (let i = 0; i < keyCount; i++) {
    const key = g.pick(KEYS);
    if (scope === 'body' && depth < 3 && g.chance(0.25)) policy[key] = policyFor(g, scope, depth + 1);
    else policy[key] = Array.from({ length: 1 + g.int(3) }, () => condition(g));
  }
  if (depth < 3 && g.chance(0.2)) {
    policy.$or = Array.from({ length: 2 + g.int(2) }, () => policyFor(g, scope, depth + 1));
  }
  return policy;
}

function attributesFor(g: Gen): MessageAttributes {
  const out: Record<string, unknown> = {};
  for (const key of KEYS) {
    if (!g.chance(0.6)) continue;
    if (g.chance(0.25)) {
      const numbers = g.chance(0.5);
      out[key] = Array.from({ length: g.int(4) }, () =>
        numbers ? g.pick(NUMBERS) : g.pick([...STRINGS, ...IPS]),
      );
    } else {
      out[key] = scalarFor(g);
    }
  }
  return out as MessageAttributes;
}

function bodyValue(g: Gen, depth: number): unknown {
  const roll = g.int(10);
  if (depth < 3 && roll < 3) return bodyObject(g, depth + 1);
  if (depth < 3 && roll < 5) return Array.from({ length: g.int(4) }, () => bodyValue(g, depth + 1));
  if (roll === 5) return null;
  return scalarFor(g);
}

function bodyObject(g: Gen, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of KEYS) if (g.chance(0.6)) out[key] = bodyValue(g, depth);
  return out;
}

// --- a deliberately naive reference interpreter, written from the semantics, not from the compiler --------

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const inRange = (n: number) => Number.isFinite(n) && Math.abs(n) <= 1e9;
const scaled = (n: number) => Math.round(n * 100_000);
const sameNumber = (a: number, b: number) => inRange(a) && inRange(b) && scaled(a) === scaled(b);

function inCidr(cidr: string, value: string): boolean {
  const [network, bits] = cidr.split('/');
  const family = isIPv4(network) ? 'ipv4' : 'ipv6';
  const list = new BlockList();
  // BlockList wants the network address; mask it the slow way through the textual form.
  list.addSubnet(network, Number(bits), family);
  if (family === 'ipv4' ? !isIPv4(value) : isIPv4(value) || !value.includes(':')) return false;
  try {
    return list.check(value, family);
  } catch {
    return false;
  }
}

function refCondition(c: unknown, v: unknown): boolean {
  if (!isObject(c)) {
    if (typeof c === 'number') return typeof v === 'number' && sameNumber(c, v);
    return c === v;
  }
  const [op, arg] = Object.entries(c)[0];
  const s = typeof v === 'string' ? v : undefined;
  switch (op) {
    case 'prefix':
      return s !== undefined && s.startsWith(arg as string);
    case 'suffix':
      return s !== undefined && s.endsWith(arg as string);
    case 'equals-ignore-case':
      return s !== undefined && s.toLowerCase() === (arg as string).toLowerCase();
    case 'cidr':
      return s !== undefined && inCidr(arg as string, s);
    case 'numeric': {
      if (typeof v !== 'number' || !inRange(v)) return false;
      const terms = arg as (string | number)[];
      for (let i = 0; i < terms.length; i += 2) {
        const x = scaled(v);
        const y = scaled(terms[i + 1] as number);
        const ok = { '=': x === y, '<': x < y, '<=': x <= y, '>': x > y, '>=': x >= y }[terms[i] as string];
        if (!ok) return false;
      }
      return true;
    }
    case 'anything-but': {
      if (isObject(arg)) {
        if (s === undefined) return false;
        return 'prefix' in arg ? !s.startsWith(arg.prefix as string) : !s.endsWith(arg.suffix as string);
      }
      const excluded = Array.isArray(arg) ? arg : [arg];
      return !excluded.some((x) =>
        typeof x === 'number' ? typeof v === 'number' && sameNumber(x, v) : x === v,
      );
    }
    default:
      throw new Error(`reference does not know ${op}`);
  }
}

function refLeaf(conditions: unknown[], present: boolean, values: unknown[]): boolean {
  return conditions.some((c) =>
    isObject(c) && 'exists' in c ? c.exists === present : present && values.some((v) => refCondition(c, v)),
  );
}

function scalars(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap(scalars);
  return isObject(value) || value === undefined ? [] : [value];
}

function objects(value: unknown): Record<string, unknown>[] {
  if (Array.isArray(value)) return value.flatMap(objects);
  return isObject(value) ? [value] : [];
}

function refNode(policy: FilterPolicy, subject: Record<string, unknown>, scope: FilterPolicyScope): boolean {
  return Object.entries(policy).every(([key, spec]) => {
    if (key === '$or') return (spec as FilterPolicy[]).some((branch) => refNode(branch, subject, scope));
    const value = Object.hasOwn(subject, key) ? subject[key] : undefined;
    if (Array.isArray(spec)) {
      if (scope === 'attributes') {
        return refLeaf(spec, value !== undefined, Array.isArray(value) ? value : [value]);
      }
      const found = scalars(value);
      return refLeaf(spec, found.length > 0, found);
    }
    const candidates = objects(value);
    if (candidates.length === 0) return refNode(spec as FilterPolicy, {}, scope);
    return candidates.some((o) => refNode(spec as FilterPolicy, o, scope));
  });
}

function reference(policy: FilterPolicy, scope: FilterPolicyScope, input: FilterInput): boolean {
  if (Object.keys(policy).length === 0) return true;
  if (scope === 'attributes') return refNode(policy, input.attributes, scope);
  const body = bodyForFiltering(input.body);
  return body !== undefined && refNode(policy, body, scope);
}

// --- the properties ----------------------------------------------------------------------------------

describe.each<FilterPolicyScope>(['attributes', 'body'])('random policies in %s scope', (scope) => {
  it('agree with the reference interpreter on random messages', () => {
    const seed = scope === 'attributes' ? 20251126 : 11262025;
    const g = new Gen(prng(seed));
    let compiled = 0;
    let matched = 0;
    let evaluated = 0;
    for (let p = 0; p < 400; p++) {
      const policy = policyFor(g, scope);
      if (validateFilterPolicy(policy, scope).length > 0) continue;
      const filter = compileFilterPolicy(policy, scope);
      compiled++;
      for (let m = 0; m < 25; m++) {
        const input: FilterInput =
          scope === 'attributes'
            ? { attributes: attributesFor(g), body: null }
            : { attributes: {}, body: g.chance(0.3) ? JSON.stringify(bodyObject(g)) : bodyObject(g) };
        const expected = reference(policy, scope, input);
        const actual = filter.matches(input);
        if (actual !== expected) {
          throw new Error(
            `seed ${seed}: ${JSON.stringify(policy)} on ${JSON.stringify(input)}: got ${actual}`,
          );
        }
        evaluated++;
        if (actual) matched++;
      }
    }
    // The generator must exercise both outcomes, or agreement proves little.
    expect(compiled).toBeGreaterThan(200);
    expect(matched).toBeGreaterThan(evaluated * 0.05);
    expect(matched).toBeLessThan(evaluated * 0.95);
  });
});

/** Values no publisher should send but a caller might pass: matching must shrug them off. */
function hostile(g: Gen): unknown {
  const throwing = new Proxy(
    {},
    {
      get() {
        throw new Error('boom');
      },
      has() {
        throw new Error('boom');
      },
      getOwnPropertyDescriptor() {
        throw new Error('boom');
      },
      ownKeys() {
        throw new Error('boom');
      },
    },
  );
  const getter = Object.defineProperty({}, 'a', {
    enumerable: true,
    get() {
      throw new Error('boom');
    },
  });
  return g.pick<unknown>([
    NaN,
    Infinity,
    -Infinity,
    -0,
    undefined,
    null,
    Symbol('s'),
    () => 1,
    BigInt(7),
    new Date(0),
    new Map([['a', 1]]),
    [[['x']]],
    [{}],
    [NaN, undefined, null],
    { nested: { a: 'x' } },
    'x'.repeat(10_000),
    '\u0000',
    '{"a":',
    throwing,
    getter,
    Object.create(null),
    deepArray(5000),
  ]);
}

function deepArray(depth: number): unknown {
  let value: unknown = 'x';
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

describe('matches never throws', () => {
  it('on thousands of arbitrary attribute maps and bodies', () => {
    const g = new Gen(prng(424242));
    const policies: [FilterPolicy, FilterPolicyScope][] = [];
    while (policies.length < 60) {
      const scope = g.pick<FilterPolicyScope>(['attributes', 'body']);
      const policy = policyFor(g, scope);
      if (validateFilterPolicy(policy, scope).length === 0) policies.push([policy, scope]);
    }
    const filters = policies.map(([policy, scope]) => compileFilterPolicy(policy, scope));
    let runs = 0;
    for (let i = 0; i < 3000; i++) {
      const attributes: Record<string, unknown> = {};
      for (const key of KEYS)
        if (g.chance(0.5)) attributes[key] = g.chance(0.5) ? hostile(g) : [hostile(g), hostile(g)];
      const body: unknown = g.chance(0.5) ? hostile(g) : { ...attributes, [g.pick(KEYS)]: { a: hostile(g) } };
      const input = g.chance(0.1)
        ? (hostile(g) as FilterInput)
        : ({ attributes: g.chance(0.1) ? hostile(g) : attributes, body } as FilterInput);
      for (const filter of filters) {
        expect(typeof filter.matches(input)).toBe('boolean');
        runs++;
      }
    }
    expect(runs).toBe(180_000);
  });

  it('with a deeply nested body array and a throwing getter', () => {
    const filter = compileFilterPolicy({ a: ['x'] }, 'body');
    expect(filter.matches({ attributes: {}, body: { a: deepArray(100_000) } })).toBe(false);
    expect(filter.matches({ attributes: {}, body: { a: deepArray(10) } })).toBe(true);
    const getter = Object.defineProperty({}, 'a', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    expect(filter.matches({ attributes: {}, body: getter })).toBe(false);
  });
});

describe('validation never throws', () => {
  it('on arbitrary JSON-ish policies', () => {
    const g = new Gen(prng(777));
    const junk = (depth: number): unknown => {
      const roll = g.int(depth > 3 ? 6 : 9);
      if (roll < 5) return hostile(g);
      if (roll === 5) return g.pick([...STRINGS, ...NUMBERS, 'numeric', 'anything-but', '$or']);
      if (roll === 6) return Array.from({ length: g.int(4) }, () => junk(depth + 1));
      const out: Record<string, unknown> = {};
      for (let i = g.int(4); i > 0; i--) {
        out[g.pick([...KEYS, '$or', 'numeric', 'prefix', 'exists', 'anything-but', 'cidr'])] = junk(
          depth + 1,
        );
      }
      return out;
    };
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const policy = junk(0);
      const scope = g.pick<FilterPolicyScope>(['attributes', 'body']);
      let errors: unknown;
      expect(() => (errors = validateFilterPolicy(policy, scope))).not.toThrow();
      expect(Array.isArray(errors)).toBe(true);
      try {
        compileFilterPolicy(policy as FilterPolicy, scope);
      } catch (error) {
        expect(error).toBeInstanceOf(FilterPolicyError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(1000);
  });
});
