import { ATTRIBUTE_NAME_PATTERN } from '../attributes';
import type { FieldError, FilterPolicyScope } from '../types';
import { type Cidr, parseCidr } from './cidr';
import { comparableNumber } from './comparable-number';
import { FILTER_POLICY_LIMITS } from './filter-policy-limits';

/** One entry of a key's value array. Numbers are already in `comparableNumber` form. */
export type Condition =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'boolean'; readonly value: boolean }
  | { readonly kind: 'null' }
  | { readonly kind: 'prefix' | 'suffix'; readonly value: string }
  | { readonly kind: 'equals-ignore-case'; readonly lowered: string }
  | {
      readonly kind: 'anything-but';
      readonly strings: readonly string[];
      readonly numbers: readonly number[];
    }
  | { readonly kind: 'anything-but-prefix' | 'anything-but-suffix'; readonly value: string }
  | { readonly kind: 'numeric'; readonly lower?: Bound; readonly upper?: Bound }
  | { readonly kind: 'exists'; readonly value: boolean }
  | { readonly kind: 'cidr'; readonly cidr: Cidr };

export interface Bound {
  readonly value: number;
  readonly inclusive: boolean;
}

/** One policy object: every leaf, every nested object and every `$or` group must match. */
export interface PolicyNode {
  readonly leaves: readonly { readonly key: string; readonly conditions: readonly Condition[] }[];
  readonly nested: readonly { readonly key: string; readonly node: PolicyNode }[];
  readonly ors: readonly (readonly PolicyNode[])[];
}

export interface ParsedFilterPolicy {
  /** Undefined when the policy is not an object at all; otherwise built from the valid parts. */
  readonly root: PolicyNode | undefined;
  readonly errors: FieldError[];
}

const OPERATORS = ['prefix', 'suffix', 'equals-ignore-case', 'anything-but', 'numeric', 'exists', 'cidr'];
const LOWER_OPERATORS = new Set(['>', '>=']);
const UPPER_OPERATORS = new Set(['<', '<=']);
const SINGLE_OPERATORS = new Set(['=', '<', '<=', '>', '>=']);
/** A policy with hundreds of mistakes gets the first ones, not a response the size of the policy. */
const MAX_ERRORS = 20;
const ROOT = 'filterPolicy';

/** Parses and checks a policy in one pass, so validation and compilation cannot disagree. */
export function parseFilterPolicy(policy: unknown, scope: FilterPolicyScope): ParsedFilterPolicy {
  const parser = new Parser(scope);
  if (!isPlainObject(policy)) {
    parser.fail(ROOT, 'must be a JSON object');
    return { root: undefined, errors: parser.errors };
  }
  const bytes = jsonBytes(policy);
  if (bytes === undefined) {
    parser.fail(ROOT, 'must be plain JSON (it could not be serialized)');
    return { root: undefined, errors: parser.errors };
  }
  if (bytes > FILTER_POLICY_LIMITS.maxBytes) {
    parser.fail(
      ROOT,
      `is ${bytes} bytes as JSON; at most ${FILTER_POLICY_LIMITS.maxBytes} (256 KB) are allowed`,
    );
    return { root: undefined, errors: parser.errors };
  }
  const root = parser.node(Object.entries(policy), ROOT, 1, true);
  parser.checkLimits(root);
  return { root, errors: parser.errors };
}

class Parser {
  readonly errors: FieldError[] = [];

  constructor(private readonly scope: FilterPolicyScope) {}

  fail(field: string, message: string): void {
    if (this.errors.length < MAX_ERRORS) this.errors.push({ field, message });
  }

  /**
   * One policy object, given as its entries. `root` allows the empty object: a policy of `{}` filters
   * nothing out. In body scope a dotted key is a path, as in SNS: `"a.b": [...]` is `"a": {"b": [...]}`,
   * and entries under the same first segment make one nested object, however they were written.
   */
  node(entries: [string, unknown][], path: string, depth: number, root = false): PolicyNode {
    const node = {
      leaves: [] as PolicyNode['leaves'][number][],
      nested: [] as PolicyNode['nested'][number][],
      ors: [] as PolicyNode[][],
    };
    if (entries.length === 0 && !root) this.fail(path, 'must contain at least one key');
    const groups = new Map<string, [string, unknown][]>();
    const group = (key: string) => groups.get(key) ?? groups.set(key, []).get(key)!;
    for (const [key, value] of entries) {
      const field = `${path}.${key}`;
      const dot = this.scope === 'body' ? key.indexOf('.') : -1;
      if (key === '$or') {
        const branches = this.or(value, field, depth);
        if (branches) node.ors.push(branches);
      } else if (dot >= 0) {
        group(key.slice(0, dot)).push([key.slice(dot + 1), value]);
      } else if (Array.isArray(value)) {
        if (this.scope === 'attributes' && !ATTRIBUTE_NAME_PATTERN.test(key)) {
          this.fail(
            field,
            'is not a valid attribute name (1 to 256 of A-Z a-z 0-9 _ . -), so it could never match',
          );
        }
        const conditions = this.conditions(value, field);
        if (conditions) node.leaves.push({ key, conditions });
      } else if (isPlainObject(value)) {
        if (this.scope === 'attributes') {
          this.fail(
            field,
            'attribute-scope policies cannot nest objects; use filterPolicyScope "body" to filter on a JSON body',
          );
        } else if (Object.keys(value).length === 0) {
          this.fail(field, 'must contain at least one key');
        } else {
          group(key).push(...Object.entries(value));
        }
      } else {
        this.fail(
          field,
          this.scope === 'body'
            ? 'must be an array of match values or a nested object'
            : 'must be an array of match values',
        );
      }
    }
    for (const [key, members] of groups) {
      const field = `${path}.${key}`;
      if (depth + 1 > FILTER_POLICY_LIMITS.maxDepth) {
        this.fail(field, `nests deeper than ${FILTER_POLICY_LIMITS.maxDepth} levels`);
      } else {
        node.nested.push({ key, node: this.node(members, field, depth + 1) });
      }
    }
    return node;
  }

  private or(value: unknown, field: string, depth: number): PolicyNode[] | undefined {
    if (!Array.isArray(value) || value.length < 2) {
      this.fail(field, 'must be an array of at least 2 policy objects');
      return undefined;
    }
    if (depth + 1 > FILTER_POLICY_LIMITS.maxDepth) {
      this.fail(field, `nests deeper than ${FILTER_POLICY_LIMITS.maxDepth} levels`);
      return undefined;
    }
    const branches: PolicyNode[] = [];
    value.forEach((branch: unknown, i) => {
      if (isPlainObject(branch))
        branches.push(this.node(Object.entries(branch), `${field}[${i}]`, depth + 1));
      else this.fail(`${field}[${i}]`, 'must be a policy object');
    });
    return branches;
  }

  private conditions(values: unknown[], field: string): Condition[] | undefined {
    if (values.length === 0) {
      this.fail(field, 'must contain at least one match value');
      return undefined;
    }
    const out: Condition[] = [];
    values.forEach((value, i) => {
      const condition = this.condition(value, `${field}[${i}]`);
      if (condition) out.push(condition);
    });
    return out;
  }

  private condition(value: unknown, field: string): Condition | undefined {
    if (value === null) return { kind: 'null' };
    switch (typeof value) {
      case 'string':
        return { kind: 'string', value };
      case 'boolean':
        return { kind: 'boolean', value };
      case 'number': {
        const n = this.number(value, field);
        return n === undefined ? undefined : { kind: 'number', value: n };
      }
    }
    if (!isPlainObject(value)) {
      this.fail(
        field,
        'must be a string, number, true, false, null or an operator object such as {"prefix": "abc"}',
      );
      return undefined;
    }
    const keys = Object.keys(value);
    if (keys.length !== 1) {
      this.fail(
        field,
        `an operator object must have exactly one operator, found ${keys.length}${list(keys)}`,
      );
      return undefined;
    }
    const operator = keys[0];
    const operand = value[operator];
    switch (operator) {
      case 'prefix':
      case 'suffix':
        if (typeof operand === 'string' && operand !== '') return { kind: operator, value: operand };
        this.fail(field, `${operator} must be a non-empty string`);
        return undefined;
      case 'equals-ignore-case':
        if (typeof operand === 'string') return { kind: operator, lowered: operand.toLowerCase() };
        this.fail(field, 'equals-ignore-case must be a string');
        return undefined;
      case 'exists':
        if (typeof operand === 'boolean') return { kind: 'exists', value: operand };
        this.fail(field, 'exists must be true or false');
        return undefined;
      case 'cidr':
        return this.cidr(operand, field);
      case 'numeric':
        return this.numeric(operand, field);
      case 'anything-but':
        return this.anythingBut(operand, field);
      default:
        this.fail(
          field,
          `unknown operator ${JSON.stringify(operator)}; expected one of ${OPERATORS.join(', ')}`,
        );
        return undefined;
    }
  }

  private number(value: number, field: string): number | undefined {
    const n = comparableNumber(value);
    if (Number.isNaN(n)) {
      this.fail(field, `number ${value} is outside the supported range -1000000000 to 1000000000`);
      return undefined;
    }
    return n;
  }

  private cidr(operand: unknown, field: string): Condition | undefined {
    if (typeof operand !== 'string') {
      this.fail(field, 'cidr must be a string such as "10.0.0.0/24" or "2001:db8::/32"');
      return undefined;
    }
    const cidr = parseCidr(operand);
    if (!cidr) {
      this.fail(
        field,
        `cidr ${JSON.stringify(operand)} is not an IPv4 or IPv6 network such as "10.0.0.0/24"`,
      );
      return undefined;
    }
    return { kind: 'cidr', cidr };
  }

  private numeric(operand: unknown, field: string): Condition | undefined {
    const shape = 'numeric must be [operator, number] or [">" or ">=", lower, "<" or "<=", upper]';
    if (!Array.isArray(operand) || (operand.length !== 2 && operand.length !== 4)) {
      this.fail(field, shape);
      return undefined;
    }
    const items: unknown[] = operand;
    for (let i = 0; i < items.length; i += 2) {
      if (typeof items[i] !== 'string' || !SINGLE_OPERATORS.has(items[i] as string)) {
        this.fail(
          field,
          `unknown numeric operator ${JSON.stringify(items[i])}; expected one of =, <, <=, >, >=`,
        );
        return undefined;
      }
      if (typeof items[i + 1] !== 'number') {
        this.fail(field, `the operand of ${JSON.stringify(items[i])} must be a number`);
        return undefined;
      }
    }
    const bounds: Bound[] = [];
    for (let i = 1; i < items.length; i += 2) {
      const n = this.number(items[i] as number, field);
      if (n === undefined) return undefined;
      bounds.push({ value: n, inclusive: (items[i - 1] as string).length === 2 || items[i - 1] === '=' });
    }
    const first = items[0] as string;
    if (items.length === 2) {
      if (first === '=') return { kind: 'numeric', lower: bounds[0], upper: bounds[0] };
      return LOWER_OPERATORS.has(first)
        ? { kind: 'numeric', lower: bounds[0] }
        : { kind: 'numeric', upper: bounds[0] };
    }
    if (!LOWER_OPERATORS.has(first) || !UPPER_OPERATORS.has(items[2] as string)) {
      this.fail(field, `a numeric range must be [">" or ">=", lower, "<" or "<=", upper]`);
      return undefined;
    }
    const [lowerRaw, upperRaw] = [items[1] as number, items[3] as number];
    if (bounds[0].value > bounds[1].value) {
      this.fail(field, `numeric range lower bound ${lowerRaw} is greater than upper bound ${upperRaw}`);
      return undefined;
    }
    if (bounds[0].value === bounds[1].value) {
      this.fail(
        field,
        `numeric range lower bound ${lowerRaw} must be less than upper bound ${upperRaw} (to 5 decimals)`,
      );
      return undefined;
    }
    return { kind: 'numeric', lower: bounds[0], upper: bounds[1] };
  }

  private anythingBut(operand: unknown, field: string): Condition | undefined {
    if (typeof operand === 'string' || typeof operand === 'number')
      return this.anythingButList([operand], field);
    if (Array.isArray(operand)) {
      if (operand.length === 0) {
        this.fail(field, 'anything-but list must not be empty');
        return undefined;
      }
      return this.anythingButList(operand, field);
    }
    if (isPlainObject(operand)) {
      const keys = Object.keys(operand);
      const inner = keys[0];
      if (keys.length !== 1 || (inner !== 'prefix' && inner !== 'suffix')) {
        this.fail(
          field,
          `anything-but takes {"prefix": "…"} or {"suffix": "…"}, found${list(keys) || ' {}'}`,
        );
        return undefined;
      }
      const text = operand[inner];
      if (typeof text !== 'string' || text === '') {
        this.fail(field, `anything-but ${inner} must be a non-empty string`);
        return undefined;
      }
      return { kind: inner === 'prefix' ? 'anything-but-prefix' : 'anything-but-suffix', value: text };
    }
    this.fail(
      field,
      'anything-but must be a string, a number, a list of them, or {"prefix": …} / {"suffix": …}',
    );
    return undefined;
  }

  private anythingButList(values: unknown[], field: string): Condition | undefined {
    const strings: string[] = [];
    const numbers: number[] = [];
    for (const value of values) {
      if (typeof value === 'string') {
        strings.push(value);
      } else if (typeof value === 'number') {
        const n = this.number(value, field);
        if (n === undefined) return undefined;
        numbers.push(n);
      } else {
        this.fail(field, 'anything-but values must be strings or numbers');
        return undefined;
      }
    }
    return { kind: 'anything-but', strings, numbers };
  }

  checkLimits(root: PolicyNode): void {
    const keys = this.scope === 'attributes' ? allLeafKeys(root, new Set()) : topLevelKeys(root, new Set());
    if (keys.size > FILTER_POLICY_LIMITS.maxKeys) {
      const what = this.scope === 'attributes' ? 'attribute names' : 'top-level keys';
      this.fail(
        ROOT,
        `has ${keys.size} ${what}${list([...keys])}; at most ${FILTER_POLICY_LIMITS.maxKeys} are allowed`,
      );
    }
    const combinations = combinationsOf(root, 1);
    if (combinations > FILTER_POLICY_LIMITS.maxCombinations) {
      const shown = combinations === Infinity ? 'too many' : String(combinations);
      this.fail(
        ROOT,
        `has ${shown} combinations of values (the product of the value-array lengths, each times its nesting depth, summed over $or branches); at most ${FILTER_POLICY_LIMITS.maxCombinations} are allowed`,
      );
    }
  }
}

/**
 * SNS's complexity measure: the policy expanded into `$or`-free alternatives, each the product of its
 * value arrays' lengths, each length multiplied by the array's key depth (1 at the top level; `$or`
 * adds no depth). The SNS guide's example `{"a":{"b":{"c":[4 values]}},"d":{"e":[3]},"f":[3]}` is
 * (4 × 3) × (3 × 2) × (3 × 1) = 216.
 */
function combinationsOf(node: PolicyNode, keyDepth: number): number {
  let product = 1;
  for (const leaf of node.leaves) product *= leaf.conditions.length * keyDepth;
  for (const nested of node.nested) product *= combinationsOf(nested.node, keyDepth + 1);
  for (const branches of node.ors)
    product *= branches.reduce((sum, branch) => sum + combinationsOf(branch, keyDepth), 0);
  return product;
}

function allLeafKeys(node: PolicyNode, into: Set<string>): Set<string> {
  for (const leaf of node.leaves) into.add(leaf.key);
  for (const branches of node.ors) for (const branch of branches) allLeafKeys(branch, into);
  return into;
}

function topLevelKeys(node: PolicyNode, into: Set<string>): Set<string> {
  for (const leaf of node.leaves) into.add(leaf.key);
  for (const nested of node.nested) into.add(nested.key);
  for (const branches of node.ors) for (const branch of branches) topLevelKeys(branch, into);
  return into;
}

function list(keys: string[]): string {
  if (keys.length === 0) return '';
  const shown = keys.slice(0, 8).map((k) => JSON.stringify(k));
  return ` (${shown.join(', ')}${keys.length > 8 ? ', …' : ''})`;
}

// TextEncoder rather than Buffer: the console runs this validator in the browser too.
const utf8 = new TextEncoder();

function jsonBytes(value: unknown): number | undefined {
  try {
    const json = JSON.stringify(value);
    return typeof json === 'string' ? utf8.encode(json).length : undefined;
  } catch {
    return undefined;
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
