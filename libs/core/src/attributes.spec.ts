import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE_ATTRIBUTES, validateMessageAttributes } from './attributes';

describe('validateMessageAttributes', () => {
  it.each<[string, unknown]>([
    ['no attributes at all', undefined],
    ['an empty map', {}],
    ['a string', { store: 'example_corp' }],
    ['an empty string', { note: '' }],
    ['a number', { price_usd: 210.75 }],
    ['a negative number and zero', { a: -1, b: 0 }],
    ['a boolean', { encrypted: false }],
    ['a string array', { customer_interests: ['soccer', 'rugby'] }],
    ['a number array', { sizes: [1, 2.5, -3] }],
    ['an empty array', { tags: [] }],
    ['every allowed name character', { 'Az09_.-': 'x' }],
    ['a 256-character name', { ['n'.repeat(256)]: 'x' }],
    [
      `exactly ${MAX_MESSAGE_ATTRIBUTES} attributes`,
      Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`a${i}`, i])),
    ],
  ])('accepts %s', (_name, value) => {
    expect(validateMessageAttributes(value)).toEqual([]);
  });

  it.each<[string, unknown, string, string]>([
    ['null', null, 'attributes', 'must be an object of attribute names to values'],
    ['an array', [['a', 'b']], 'attributes', 'must be an object of attribute names to values'],
    ['a string instead of a map', 'a=b', 'attributes', 'must be an object of attribute names to values'],
    [
      'a name with a space',
      { 'a b': 'x' },
      'attributes.a b',
      'name must be 1 to 256 characters of A-Z, a-z, 0-9, _, . or -',
    ],
    [
      'a name with a colon',
      { 'a:b': 'x' },
      'attributes.a:b',
      'name must be 1 to 256 characters of A-Z, a-z, 0-9, _, . or -',
    ],
    [
      'an empty name',
      { '': 'x' },
      'attributes.',
      'name must be 1 to 256 characters of A-Z, a-z, 0-9, _, . or -',
    ],
    [
      'a non-ASCII name',
      { 'prix€': 1 },
      'attributes.prix€',
      'name must be 1 to 256 characters of A-Z, a-z, 0-9, _, . or -',
    ],
    [
      'a 257-character name',
      { ['n'.repeat(257)]: 'x' },
      `attributes.${'n'.repeat(64)}…`,
      'name must be 1 to 256 characters of A-Z, a-z, 0-9, _, . or -',
    ],
    [
      'the name __proto__',
      JSON.parse('{"__proto__":"x"}'),
      'attributes.__proto__',
      'name __proto__ is reserved',
    ],
    [
      'a null value',
      { a: null },
      'attributes.a',
      'must be a string, finite number, boolean, string[] or number[]',
    ],
    [
      'an object',
      { a: { b: 1 } },
      'attributes.a',
      'must be a string, finite number, boolean, string[] or number[]',
    ],
    ['NaN', { a: NaN }, 'attributes.a', 'must be a finite number'],
    ['Infinity', { a: Infinity }, 'attributes.a', 'must be a finite number'],
    ['a mixed array', { a: ['x', 1] }, 'attributes.a', 'an array must hold only strings or only numbers'],
    ['a boolean array', { a: [true] }, 'attributes.a', 'an array must hold only strings or only numbers'],
    ['a nested array', { a: [['x']] }, 'attributes.a', 'an array must hold only strings or only numbers'],
    [
      'an array with null',
      { a: ['x', null] },
      'attributes.a',
      'an array must hold only strings or only numbers',
    ],
    ['an array with NaN', { a: [1, NaN] }, 'attributes.a', 'array numbers must be finite'],
    [
      `${MAX_MESSAGE_ATTRIBUTES + 1} attributes`,
      Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`a${i}`, i])),
      'attributes',
      'has 51 attributes; at most 50 are allowed',
    ],
  ])('refuses %s', (_name, value, field, message) => {
    expect(validateMessageAttributes(value)).toEqual([{ field, message }]);
  });

  it('reports every bad attribute under the given field', () => {
    expect(validateMessageAttributes({ ok: 'x', 'bad name': 1, bad: {} }, 'messages[3].attributes')).toEqual([
      {
        field: 'messages[3].attributes.bad name',
        message: 'name must be 1 to 256 characters of A-Z, a-z, 0-9, _, . or -',
      },
      {
        field: 'messages[3].attributes.bad',
        message: 'must be a string, finite number, boolean, string[] or number[]',
      },
    ]);
  });
});
