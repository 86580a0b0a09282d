import type { FilterPolicyScope, MessageAttributes } from '../types';
import { bodyForFiltering } from './body-for-filtering';
import { FilterPolicyError } from './filter-policy-error';
import { type Condition, isPlainObject, parseFilterPolicy, type PolicyNode } from './parse-filter-policy';
import { compileValueTest, type ValueTest } from './value-test';

/** A filter policy as stored on a subscription: the SNS JSON language. */
export type FilterPolicy = Record<string, unknown>;

export interface FilterInput {
  attributes: MessageAttributes;
  /** The body as published; body-scope policies parse it when `parsedBody` is not given. */
  body: unknown;
  /**
   * `bodyForFiltering(body)`, computed once per message by the fan-out. When the property is present, even
   * as undefined (a non-JSON body), `body` is not parsed again.
   */
  parsedBody?: Record<string, unknown> | undefined;
}

export interface CompiledFilterPolicy {
  readonly scope: FilterPolicyScope;
  /** Whether the message passes the policy. Never throws: input it cannot read does not match. */
  matches(input: FilterInput): boolean;
}

type Subject = Record<string, unknown>;
type NodeTest = (subject: Subject) => boolean;

const EMPTY: Subject = Object.freeze({});
/** JSON nests arrays as deep as it likes; past this depth inner arrays are not searched. */
const MAX_ARRAY_DEPTH = 32;
const NONE = 0;
const NO_MATCH = 1;
const MATCH = 2;
const anyScalar: ValueTest = () => true;

/**
 * Validates a policy and compiles it into closures (Sets for exact values, lowered strings, parsed CIDRs),
 * so matching a message never re-reads the policy. Throws `FilterPolicyError` when the policy is invalid.
 *
 * Semantics beyond the SNS text: an empty policy `{}` matches every message; in body scope a key "exists"
 * when at least one scalar (null included) sits at its path, and a nested policy is matched against each
 * element of an array of objects separately, so all its keys must hold in the same element.
 */
export function compileFilterPolicy(policy: FilterPolicy, scope: FilterPolicyScope): CompiledFilterPolicy {
  if (scope !== 'attributes' && scope !== 'body') {
    throw new FilterPolicyError([{ field: 'filterPolicyScope', message: 'must be "attributes" or "body"' }]);
  }
  const { root, errors } = parseFilterPolicy(policy, scope);
  if (root === undefined || errors.length > 0) throw new FilterPolicyError(errors);
  const test = compileNode(root, scope);
  const matchesEverything = isEmpty(root);

  if (scope === 'attributes') {
    return {
      scope,
      matches(input: FilterInput): boolean {
        if (matchesEverything) return true;
        try {
          const attributes: unknown = input.attributes;
          return test(isPlainObject(attributes) ? attributes : EMPTY);
        } catch {
          return false;
        }
      },
    };
  }
  return {
    scope,
    matches(input: FilterInput): boolean {
      if (matchesEverything) return true;
      try {
        const body: unknown = 'parsedBody' in input ? input.parsedBody : bodyForFiltering(input.body);
        return isPlainObject(body) && test(body);
      } catch {
        return false;
      }
    },
  };
}

function isEmpty(node: PolicyNode): boolean {
  return node.leaves.length === 0 && node.nested.length === 0 && node.ors.length === 0;
}

function compileNode(node: PolicyNode, scope: FilterPolicyScope): NodeTest {
  const tests: NodeTest[] = [];
  for (const leaf of node.leaves) {
    tests.push(
      scope === 'attributes' ? attributeLeaf(leaf.key, leaf.conditions) : bodyLeaf(leaf.key, leaf.conditions),
    );
  }
  for (const nested of node.nested) tests.push(nestedObject(nested.key, compileNode(nested.node, scope)));
  for (const branches of node.ors) {
    const alternatives = branches.map((branch) => compileNode(branch, scope));
    tests.push((subject) => {
      for (const alternative of alternatives) if (alternative(subject)) return true;
      return false;
    });
  }
  if (tests.length === 1) return tests[0];
  return (subject) => {
    for (const test of tests) if (!test(subject)) return false;
    return true;
  };
}

interface KeyConditions {
  /** The key is absent and one condition is `exists: false`. */
  whenAbsent: boolean;
  /** The key is present and one condition is `exists: true`. */
  whenPresent: boolean;
  test: ValueTest;
}

function keyConditions(conditions: readonly Condition[]): KeyConditions {
  return {
    whenAbsent: conditions.some((c) => c.kind === 'exists' && !c.value),
    whenPresent: conditions.some((c) => c.kind === 'exists' && c.value),
    test: compileValueTest(conditions),
  };
}

/** Attribute scope: a key exists when the message carries the attribute; an array matches when one element does. */
function attributeLeaf(key: string, conditions: readonly Condition[]): NodeTest {
  const { whenAbsent, whenPresent, test } = keyConditions(conditions);
  return (attributes) => {
    const value = Object.hasOwn(attributes, key) ? attributes[key] : undefined;
    if (value === undefined) return whenAbsent;
    if (whenPresent) return true;
    if (Array.isArray(value)) {
      for (const element of value as unknown[]) if (test(element)) return true;
      return false;
    }
    return test(value);
  };
}

/** Body scope: the scalars at the key's path (arrays flattened) are its values; an object there is not a value. */
function bodyLeaf(key: string, conditions: readonly Condition[]): NodeTest {
  const { whenAbsent, whenPresent, test } = keyConditions(conditions);
  return (object) => {
    const value = Object.hasOwn(object, key) ? object[key] : undefined;
    if (value === undefined) return whenAbsent;
    if (value === null || typeof value !== 'object') return whenPresent || test(value);
    if (!Array.isArray(value)) return whenAbsent;
    const found = scanScalars(value, whenPresent ? anyScalar : test, 0);
    return found === NONE ? whenAbsent : found === MATCH;
  };
}

function scanScalars(values: unknown[], test: ValueTest, depth: number): number {
  let found = NONE;
  for (const value of values) {
    if (Array.isArray(value)) {
      if (depth >= MAX_ARRAY_DEPTH) continue;
      const inner = scanScalars(value, test, depth + 1);
      if (inner === MATCH) return MATCH;
      if (inner === NO_MATCH) found = NO_MATCH;
    } else if (value === null || typeof value !== 'object') {
      if (value === undefined) continue;
      if (test(value)) return MATCH;
      found = NO_MATCH;
    }
  }
  return found;
}

/**
 * A nested policy meets the object at its key, or each object of an array there; where there is no object
 * at all it meets an empty one, so only `exists: false` conditions can hold. A dotted key in the body is a
 * path too (SNS matches every way of splitting one): `{"a.b": 1}` holds `{"b": 1}` at `a`, beside
 * whatever `a` itself holds.
 */
function nestedObject(key: string, test: NodeTest): NodeTest {
  let whenMissing: boolean | undefined;
  const missing = (): boolean => (whenMissing ??= test(EMPTY));
  const prefix = `${key}.`;
  return (object) => {
    const value = Object.hasOwn(object, key) ? object[key] : undefined;
    const dotted = dottedChild(object, prefix);
    if (isPlainObject(value)) return test(dotted ? mergeDotted(value, dotted) : value);
    if (Array.isArray(value)) {
      const found = scanObjects(dotted ? [...(value as unknown[]), dotted] : value, test, 0);
      return found === NONE ? missing() : found === MATCH;
    }
    return dotted ? test(dotted) : missing();
  };
}

/** The keys of `object` that start with `prefix`, without it, as one object; undefined when there are none. */
function dottedChild(object: Subject, prefix: string): Subject | undefined {
  let child: Subject | undefined;
  for (const key of Object.keys(object)) {
    if (key.startsWith(prefix))
      (child ??= Object.create(null) as Subject)[key.slice(prefix.length)] = object[key];
  }
  return child;
}

/** `value` and its dotted siblings as one object; a key present in both keeps both values, as an array. */
function mergeDotted(value: Subject, dotted: Subject): Subject {
  const merged = Object.assign(Object.create(null) as Subject, value);
  for (const [key, v] of Object.entries(dotted))
    merged[key] = Object.hasOwn(merged, key) ? [merged[key], v] : v;
  return merged;
}

function scanObjects(values: unknown[], test: NodeTest, depth: number): number {
  let found = NONE;
  for (const value of values) {
    if (Array.isArray(value)) {
      if (depth >= MAX_ARRAY_DEPTH) continue;
      const inner = scanObjects(value, test, depth + 1);
      if (inner === MATCH) return MATCH;
      if (inner === NO_MATCH) found = NO_MATCH;
    } else if (isPlainObject(value)) {
      if (test(value)) return MATCH;
      found = NO_MATCH;
    }
  }
  return found;
}
