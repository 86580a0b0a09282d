import { describe, expect, it } from 'vitest';
import { pageLimit, toPage } from './page';
import { jsonParam, pgArrayLiteral, textParam, timeParam } from './sql-values';

describe('jsonParam', () => {
  it.each([
    [undefined, null],
    [null, null],
    ['text', '"text"'],
    [{ a: 'x\u0000y' }, '{"a":"x\\ufffdy"}'],
    ['lone \ud800 high', '"lone \\ufffd high"'],
    ['lone \udfff low', '"lone \\ufffd low"'],
    ['pair 😀 kept', '"pair 😀 kept"'],
    ['literal \\u0000 kept', '"literal \\\\u0000 kept"'],
    ['escaped then nul \\\u0000', '"escaped then nul \\\\\\ufffd"'],
  ])('%j → %s', (value, expected) => {
    expect(jsonParam(value)).toBe(expected);
  });
});

describe('pgArrayLiteral', () => {
  it.each([
    [[], '{}'],
    [['a', 'b'], '{"a","b"}'],
    [['say "hi"', 'back\\slash'], '{"say \\"hi\\"","back\\\\slash"}'],
    [[null, undefined, 'NULL', ''], '{NULL,NULL,"NULL",""}'],
    [[1, 0, -2], '{1,0,-2}'],
  ])('%j → %s', (values, expected) => {
    expect(pgArrayLiteral(values)).toBe(expected);
  });

  it('refuses a value it cannot write as an element', () => {
    expect(() => pgArrayLiteral([{ a: 1 }])).toThrow(/not values of type object/);
  });
});

describe('textParam and timeParam', () => {
  it('replaces NUL characters and passes other text through', () => {
    expect(textParam('a\u0000b')).toBe('a\ufffdb');
    expect(textParam('plain')).toBe('plain');
    expect(textParam(undefined)).toBeNull();
  });

  it('turns dates into ISO strings', () => {
    expect(timeParam(new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 6)))).toBe('2030-01-02T03:04:05.006Z');
    expect(timeParam(null)).toBeNull();
  });
});

describe('pages', () => {
  it.each([
    [undefined, 100],
    [0, 1],
    [5.7, 5],
    [5000, 1000],
    [Number.NaN, 100],
  ])('limit %s → %i', (limit, expected) => {
    expect(pageLimit(limit === undefined ? undefined : { limit })).toBe(expected);
  });

  it('gives a cursor only when a row beyond the limit was fetched', () => {
    const id = (s: string) => s;
    expect(toPage(['a', 'b', 'c'], 2, id, id)).toEqual({ items: ['a', 'b'], nextCursor: 'b' });
    expect(toPage(['a', 'b'], 2, id, id)).toEqual({ items: ['a', 'b'], nextCursor: null });
    expect(toPage([], 2, id, id)).toEqual({ items: [], nextCursor: null });
  });
});
