import { cidrContains } from './cidr';
import { comparableNumber } from './comparable-number';
import type { Bound, Condition } from './parse-filter-policy';

/** Whether one scalar from a message satisfies at least one of a key's conditions. */
export type ValueTest = (value: unknown) => boolean;

/**
 * Folds a key's conditions into one test: exact strings and numbers become Set lookups,
 * equals-ignore-case a Set of lowered strings, the rest closures grouped by the value type they apply to,
 * so a value only meets the conditions that could match its type. `exists` is handled by the caller.
 */
export function compileValueTest(conditions: readonly Condition[]): ValueTest {
  const strings = new Set<string>();
  const numbers = new Set<number>();
  const lowered = new Set<string>();
  const stringTests: ((value: string) => boolean)[] = [];
  const numberTests: ((value: number) => boolean)[] = [];
  const anyTests: ValueTest[] = [];
  let matchesTrue = false;
  let matchesFalse = false;
  let matchesNull = false;

  for (const condition of conditions) {
    switch (condition.kind) {
      case 'string':
        strings.add(condition.value);
        break;
      case 'number':
        numbers.add(condition.value);
        break;
      case 'boolean':
        if (condition.value) matchesTrue = true;
        else matchesFalse = true;
        break;
      case 'null':
        matchesNull = true;
        break;
      case 'equals-ignore-case':
        lowered.add(condition.lowered);
        break;
      case 'prefix': {
        const prefix = condition.value;
        stringTests.push((value) => value.startsWith(prefix));
        break;
      }
      case 'suffix': {
        const suffix = condition.value;
        stringTests.push((value) => value.endsWith(suffix));
        break;
      }
      case 'anything-but-prefix': {
        const prefix = condition.value;
        stringTests.push((value) => !value.startsWith(prefix));
        break;
      }
      case 'anything-but-suffix': {
        const suffix = condition.value;
        stringTests.push((value) => !value.endsWith(suffix));
        break;
      }
      case 'cidr': {
        const cidr = condition.cidr;
        stringTests.push((value) => cidrContains(cidr, value));
        break;
      }
      case 'numeric':
        numberTests.push(numericTest(condition.lower, condition.upper));
        break;
      case 'anything-but':
        anyTests.push(anythingBut(new Set(condition.strings), new Set(condition.numbers)));
        break;
      case 'exists':
        break;
    }
  }

  const hasLowered = lowered.size > 0;
  return (value) => {
    switch (typeof value) {
      case 'string':
        if (strings.has(value)) return true;
        if (hasLowered && lowered.has(value.toLowerCase())) return true;
        for (const test of stringTests) if (test(value)) return true;
        break;
      case 'number': {
        const n = comparableNumber(value);
        if (!Number.isNaN(n)) {
          if (numbers.has(n)) return true;
          for (const test of numberTests) if (test(n)) return true;
        }
        break;
      }
      case 'boolean':
        if (value ? matchesTrue : matchesFalse) return true;
        break;
      default:
        if (value === null && matchesNull) return true;
    }
    for (const test of anyTests) if (test(value)) return true;
    return false;
  };
}

/** Bounds are already comparable numbers, so the message value is compared in the same 5-decimal units. */
function numericTest(lower: Bound | undefined, upper: Bound | undefined): (n: number) => boolean {
  const lo = lower?.value ?? -Infinity;
  const hi = upper?.value ?? Infinity;
  const loIn = lower?.inclusive ?? true;
  const hiIn = upper?.inclusive ?? true;
  if (loIn && hiIn) return (n) => n >= lo && n <= hi;
  if (loIn) return (n) => n >= lo && n < hi;
  if (hiIn) return (n) => n > lo && n <= hi;
  return (n) => n > lo && n < hi;
}

/** Strings and numbers are distinct: `"100"` is not excluded by `anything-but: [100]`. */
function anythingBut(strings: Set<string>, numbers: Set<number>): ValueTest {
  return (value) => {
    if (typeof value === 'string') return !strings.has(value);
    if (typeof value === 'number') return !numbers.has(comparableNumber(value));
    return true;
  };
}
