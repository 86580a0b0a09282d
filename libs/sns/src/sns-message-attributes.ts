import type { AttributeValue, MessageAttributes } from '@herald/core';
import { invalidParameter } from './sns-error';
import type { QueryParams } from './query-params';

/** An attribute as SNS documents carry it: `{Type, Value}`. */
export interface SnsAttribute {
  Type: string;
  Value: string;
}

const NUMBER = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/**
 * SNS `MessageAttributes` (`DataType` + `StringValue`) as Herald attributes: `String` a string, `Number`
 * a number, `String.Array` an array of strings or of numbers. A custom type (`String.phone`) counts as
 * its base type. `Binary` and arrays Herald cannot hold are refused, naming the attribute.
 */
export function heraldAttributes(
  entries: Array<[string, QueryParams]>,
  field = 'MessageAttributes',
): MessageAttributes {
  const out: MessageAttributes = {};
  for (const [name, value] of entries) {
    const at = `${field}.${name}`;
    if (Object.hasOwn(out, name)) throw invalidParameter(at, 'the attribute is given more than once');
    const dataType = value.string('DataType');
    if (!dataType) throw invalidParameter(at, 'DataType is required');
    if (value.string('BinaryValue') !== undefined || /^Binary(\.|$)/.test(dataType))
      throw invalidParameter(at, 'Binary attributes are not supported');
    const text = value.string('StringValue');
    if (text === undefined) throw invalidParameter(at, `a ${dataType} attribute needs a StringValue`);
    out[name] = attributeValue(dataType, text, at);
  }
  return out;
}

function attributeValue(dataType: string, text: string, at: string): AttributeValue {
  if (dataType === 'String.Array') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw invalidParameter(at, 'a String.Array value must be a JSON array');
    }
    if (!Array.isArray(parsed)) throw invalidParameter(at, 'a String.Array value must be a JSON array');
    const items: unknown[] = parsed;
    if (items.every((i) => typeof i === 'string')) return items;
    if (items.every((i) => typeof i === 'number')) return items;
    throw invalidParameter(at, 'Herald takes arrays of only strings or only numbers');
  }
  if (/^String(\.|$)/.test(dataType)) return text;
  if (/^Number(\.|$)/.test(dataType)) {
    const n = Number(text);
    if (!NUMBER.test(text.trim()) || !Number.isFinite(n))
      throw invalidParameter(at, `"${text}" is not a number`);
    return n;
  }
  throw invalidParameter(at, `the DataType ${dataType} is not String, Number or String.Array`);
}

/** Herald attributes as SNS writes them in a notification (a boolean as the String "true"/"false"). */
export function snsAttributes(attributes: MessageAttributes): Record<string, SnsAttribute> {
  const out: Record<string, SnsAttribute> = {};
  for (const [name, value] of Object.entries(attributes)) {
    out[name] = Array.isArray(value)
      ? { Type: 'String.Array', Value: JSON.stringify(value) }
      : typeof value === 'number'
        ? { Type: 'Number', Value: String(value) }
        : { Type: 'String', Value: String(value) };
  }
  return out;
}
