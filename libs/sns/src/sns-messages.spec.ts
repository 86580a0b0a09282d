import type { MessageAttributes } from '@herald/core';
import { describe, expect, it } from 'vitest';
import { parseMessageStructure, type StructuredMessage } from './message-structure';
import { QueryParams } from './query-params';
import { refusal } from './sns-test-support';
import { heraldAttributes, snsAttributes } from './sns-message-attributes';

/** `MessageAttributes.entry.N.*` form fields for the given attributes, as the SDK writes them. */
function attributeForm(attrs: Array<[string, Record<string, string>]>): QueryParams {
  const form: Record<string, string> = {};
  attrs.forEach(([name, value], i) => {
    form[`MessageAttributes.entry.${i + 1}.Name`] = name;
    for (const [k, v] of Object.entries(value)) form[`MessageAttributes.entry.${i + 1}.Value.${k}`] = v;
  });
  return QueryParams.of(form);
}

const read = (attrs: Array<[string, Record<string, string>]>) =>
  heraldAttributes(attributeForm(attrs).map('MessageAttributes', 'Name', 'Value'));

describe('SNS message attributes', () => {
  it.each<[string, Record<string, string>, MessageAttributes[string]]>([
    ['String', { DataType: 'String', StringValue: 'berlin' }, 'berlin'],
    ['an empty String', { DataType: 'String', StringValue: '' }, ''],
    ['a custom String type', { DataType: 'String.city', StringValue: 'berlin' }, 'berlin'],
    ['Number', { DataType: 'Number', StringValue: '99.50' }, 99.5],
    ['a negative exponent Number', { DataType: 'Number', StringValue: '-1.5e3' }, -1500],
    ['a custom Number type', { DataType: 'Number.cents', StringValue: '12' }, 12],
    ['String.Array of strings', { DataType: 'String.Array', StringValue: '["a","b"]' }, ['a', 'b']],
    ['String.Array of numbers', { DataType: 'String.Array', StringValue: '[1, 2.5]' }, [1, 2.5]],
    ['an empty String.Array', { DataType: 'String.Array', StringValue: '[]' }, []],
  ])('reads %s', (_, value, expected) => {
    expect(read([['attr', value]])).toEqual({ attr: expected });
  });

  it.each<[string, Array<[string, Record<string, string>]>, RegExp]>([
    [
      'Binary',
      [['blob', { DataType: 'Binary', BinaryValue: 'AAEC' }]],
      /MessageAttributes\.blob Reason: Binary attributes are not supported/,
    ],
    ['a Binary value under another type', [['blob', { DataType: 'String', BinaryValue: 'AAEC' }]], /Binary/],
    ['no DataType', [['a', { StringValue: 'x' }]], /MessageAttributes\.a Reason: DataType is required/],
    ['no StringValue', [['a', { DataType: 'String' }]], /needs a StringValue/],
    [
      'a Number that is not one',
      [['n', { DataType: 'Number', StringValue: '12abc' }]],
      /"12abc" is not a number/,
    ],
    ['an infinite Number', [['n', { DataType: 'Number', StringValue: '1e400' }]], /is not a number/],
    [
      'a String.Array that is not JSON',
      [['l', { DataType: 'String.Array', StringValue: '[a' }]],
      /JSON array/,
    ],
    ['a String.Array object', [['l', { DataType: 'String.Array', StringValue: '{}' }]], /JSON array/],
    [
      'a mixed String.Array',
      [['l', { DataType: 'String.Array', StringValue: '["a",1]' }]],
      /only strings or only numbers/,
    ],
    [
      'booleans in a String.Array',
      [['l', { DataType: 'String.Array', StringValue: '[true]' }]],
      /only strings or only numbers/,
    ],
    ['an unknown DataType', [['a', { DataType: 'Date', StringValue: 'x' }]], /DataType Date is not String/],
    [
      'a name given twice',
      [
        ['a', { DataType: 'String', StringValue: 'x' }],
        ['a', { DataType: 'String', StringValue: 'y' }],
      ],
      /given more than once/,
    ],
  ])('refuses %s', (_, attrs, message) => {
    const err = refusal(() => read(attrs));
    expect(err.code).toBe('InvalidParameter');
    expect(err.message).toMatch(message);
  });

  it('writes attributes as SNS documents carry them', () => {
    expect(snsAttributes({ s: 'x', n: 99.5, b: true, l: ['a'], m: [1, 2] })).toEqual({
      s: { Type: 'String', Value: 'x' },
      n: { Type: 'Number', Value: '99.5' },
      b: { Type: 'String', Value: 'true' },
      l: { Type: 'String.Array', Value: '["a"]' },
      m: { Type: 'String.Array', Value: '[1,2]' },
    });
  });
});

describe('MessageStructure=json', () => {
  it.each<[string, StructuredMessage]>([
    ['{"default":"hi"}', { body: 'hi', bodyByProtocol: {} }],
    [
      '{"default":"d","http":"web","https":"web","email":"mail","sms":"text","lambda":"fn","sqs":"q","APNS":"{}"}',
      { body: 'd', bodyByProtocol: { webhook: 'web', email: 'mail', sms: 'text', function: 'fn' } },
    ],
    ['{"default":"d","email-json":"j"}', { body: 'd', bodyByProtocol: { email: 'j' } }],
    ['{"default":"d","https":"only https"}', { body: 'd', bodyByProtocol: { webhook: 'only https' } }],
  ])('reads %s', (message, expected) => {
    expect(parseMessageStructure(message)).toEqual(expected);
  });

  it.each<[string, RegExp]>([
    ['not json', /JSON message body failed to parse/],
    ['"a string"', /must be an object/],
    ['{"email":"x"}', /No default entry/],
    ['{"default":{"nested":true}}', /the value of default must be a string/],
    ['{"default":"d","sms":1}', /the value of sms must be a string/],
    ['{"default":"d","http":"a","https":"b"}', /https and http must be the same/],
    ['{"default":"d","email":"a","email-json":"b"}', /email and email-json must be the same/],
  ])('refuses %s', (message, reason) => {
    const err = refusal(() => parseMessageStructure(message));
    expect(err.message).toMatch(/^Invalid parameter: Message Reason: Message Structure - /);
    expect(err.message).toMatch(reason);
  });
});

describe('QueryParams', () => {
  it('reads values, lists and maps from a form body, in index order', () => {
    const q = QueryParams.parse(
      'Action=TagResource&Tags.member.2.Key=b&Tags.member.2.Value=2&Tags.member.1.Key=a&Tags.member.1.Value=1' +
        '&TagKeys.member.1=x%20y&Attributes.entry.1.key=DisplayName&Attributes.entry.1.value=A+%26+B&Empty=',
    );
    expect(q.string('Action')).toBe('TagResource');
    expect(q.list('Tags').map((t) => [t.string('Key'), t.string('Value')])).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
    expect(q.values('TagKeys')).toEqual(['x y']);
    expect([...q.stringMap('Attributes')]).toEqual([['DisplayName', 'A & B']]);
    expect(q.list('Missing')).toEqual([]);
    expect(q.names().sort()).toEqual(['Action', 'Attributes', 'Empty', 'TagKeys', 'Tags']);
    expect(() => q.required('Empty')).toThrow(/Invalid parameter: Empty Reason: the parameter is required/);
  });

  it.each<[string, RegExp]>([
    ['Name=a&Name=b', /Name Reason: the parameter is given more than once/],
    ['Tags.member.0.Key=a', /not a list member/],
    ['Tags.member.1001.Key=a', /not a list member/],
    ['Tags.member.x.Key=a', /not a list member/],
    ['Tags.member.01.Key=a', /not a list member/],
  ])('refuses %s', (body, message) => {
    expect(() => QueryParams.parse(body).list('Tags')).toThrow(message);
  });

  it('reads booleans as SNS writes them', () => {
    const q = QueryParams.of({ a: 'true', b: 'FALSE', c: 'yes' });
    expect([q.boolean('a'), q.boolean('b'), q.boolean('none')]).toEqual([true, false, undefined]);
    expect(() => q.boolean('c')).toThrow(/must be true or false/);
  });
});
