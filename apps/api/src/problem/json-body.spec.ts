import { describe, expect, it } from 'vitest';
import { jsonNestsDeeperThan } from './json-body';

describe('jsonNestsDeeperThan', () => {
  it.each<[string, number, boolean]>([
    ['{}', 1, false],
    ['{}', 0, true],
    ['[[[]]]', 3, false],
    ['[[[]]]', 2, true],
    ['[[],[],[]]', 2, false],
    ['{"a":{"b":[1,{"c":2}]}}', 4, false],
    ['{"a":{"b":[1,{"c":2}]}}', 3, true],
    // Brackets inside strings, escaped quotes included, are text.
    ['{"a":"[[[[[[\\"[[[["}', 1, false],
    ['["\\\\",[[]]]', 2, true],
    ['"just a string"', 0, false],
    ['['.repeat(100_000), 100, true],
  ])('%s within %i levels: deeper is %s', (text, limit, deeper) => {
    expect(jsonNestsDeeperThan(text, limit)).toBe(deeper);
  });
});
