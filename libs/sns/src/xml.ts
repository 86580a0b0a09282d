import type { SnsError } from './sns-error';

export const SNS_XML_NAMESPACE = 'http://sns.amazonaws.com/doc/2010-03-31/';

/** A piece of XML already written and escaped. */
export type Xml = string & { readonly __xml: true };

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

const NOT_XML =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Text escaped for XML 1.0. Characters XML cannot carry at all (control characters, lone surrogates)
 * become U+FFFD, so a message or error text can never make the answer unreadable.
 */
export function escapeXml(text: string): string {
  return text.replace(NOT_XML, '\ufffd').replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** `<name>text</name>`, or `<name>children</name>` for already written children. */
export function element(name: string, content: string | number | boolean | Xml[]): Xml {
  const inner = Array.isArray(content) ? content.join('') : escapeXml(String(content));
  return `<${name}>${inner}</${name}>` as Xml;
}

/** A list as the Query protocol writes it: `<name><member>…</member>…</name>`. */
export function memberList(name: string, members: Xml[][]): Xml {
  return element(
    name,
    members.map((m) => element('member', m)),
  );
}

/** A map of strings: `<name><entry><key>k</key><value>v</value></entry>…</name>`. */
export function entryMap(name: string, map: Iterable<[string, string]>): Xml {
  return element(
    name,
    [...map].map(([k, v]) => element('entry', [element('key', k), element('value', v)])),
  );
}

/** Members whose value is defined, in order (optional fields of a result). */
export function fields(values: Record<string, string | number | boolean | null | undefined>): Xml[] {
  return Object.entries(values)
    .filter((e): e is [string, string | number | boolean] => e[1] !== null && e[1] !== undefined)
    .map(([k, v]) => element(k, v));
}

/** `<{Action}Response><{Action}Result>…</…Result><ResponseMetadata>…` (no Result element when `result` is null). */
export function actionResponse(action: string, requestId: string, result: Xml[] | null): string {
  const metadata = element('ResponseMetadata', [element('RequestId', requestId)]);
  const body = result === null ? [metadata] : [element(`${action}Result`, result), metadata];
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${SNS_XML_NAMESPACE}">${body.join('')}</${action}Response>\n`;
}

export function errorResponse(error: SnsError, requestId: string): string {
  const inner = element('Error', [
    element('Type', error.type),
    element('Code', error.code),
    element('Message', error.message),
  ]);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${SNS_XML_NAMESPACE}">${inner}${element('RequestId', requestId)}</ErrorResponse>\n`;
}
