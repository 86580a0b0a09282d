import type { Protocol } from '@herald/core';
import { invalidParameter } from './sns-error';

/** SNS protocol keys of a `MessageStructure=json` message and the Herald protocol each one feeds. */
const PROTOCOL_KEYS: ReadonlyArray<[Protocol, readonly string[]]> = [
  ['webhook', ['https', 'http']],
  ['email', ['email', 'email-json']],
  ['sms', ['sms']],
  ['function', ['lambda']],
];

export interface StructuredMessage {
  body: string;
  bodyByProtocol: Partial<Record<Protocol, string>>;
}

/**
 * A `MessageStructure=json` message: `default` becomes the body, the protocol keys Herald delivers the
 * per-protocol bodies. Herald keeps one body per channel, so `http` and `https` (and `email` and
 * `email-json`) must agree when both are given. Other keys (sqs, mobile push) have no subscriber here.
 */
export function parseMessageStructure(message: string): StructuredMessage {
  const bad = (reason: string) => invalidParameter('Message', `Message Structure - ${reason}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    throw bad('JSON message body failed to parse');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw bad('JSON message body must be an object');
  const entries = parsed as Record<string, unknown>;
  for (const [key, value] of Object.entries(entries))
    if (typeof value !== 'string') throw bad(`the value of ${key} must be a string`);
  const body = entries.default;
  if (typeof body !== 'string') throw bad('No default entry in JSON message body');
  const bodyByProtocol: Partial<Record<Protocol, string>> = {};
  for (const [protocol, keys] of PROTOCOL_KEYS) {
    const given = keys.filter((k) => Object.hasOwn(entries, k)).map((k) => entries[k] as string);
    if (given.length === 0) continue;
    if (given.some((v) => v !== given[0]))
      throw bad(`${keys.join(' and ')} must be the same: Herald sends them one body`);
    bodyByProtocol[protocol] = given[0];
  }
  return { body, bodyByProtocol };
}
