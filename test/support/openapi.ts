import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { expect } from 'vitest';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- an OpenAPI document is JSON of many shapes
type Json = any;

export interface OpenApiOperation {
  method: string;
  /** The path template, e.g. `/v1/subscriptions/{id}`. */
  path: string;
  operation: Json;
}

export interface Answer {
  status: number;
  headers: Headers | Record<string, string>;
  text: string;
}

const DOC_ID = 'herald-openapi.json';
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** Every object schema with properties refuses others, so an answer field the document lacks is drift. */
function closeObjects(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(closeObjects);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Json = {};
  for (const [k, v] of Object.entries(schema)) out[k] = k === 'example' ? v : closeObjects(v);
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined) {
    out.additionalProperties = false;
  }
  return out;
}

/** A JSON pointer into the document, e.g. to a response's schema. */
export const pointer = (...parts: string[]) =>
  `/${parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;

/**
 * Herald's OpenAPI document, and answers checked against it with Ajv (OpenAPI 3.0's `nullable` included):
 * an answer's status must be documented for its operation, with its media type, and its body must match
 * that schema, closed to undocumented fields.
 */
export class OpenApi {
  readonly operations: OpenApiOperation[];
  private readonly ajv: Ajv;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(readonly doc: Json) {
    this.ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addSchema({ ...closeObjects(doc), $id: DOC_ID });
    this.operations = Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
      Object.entries(item as Record<string, Json>)
        .filter(([method]) => METHODS.includes(method))
        .map(([method, operation]) => ({ method, path, operation })),
    );
  }

  static async load(baseUrl: string): Promise<OpenApi> {
    const res = await fetch(`${baseUrl}/docs/openapi.json`);
    if (res.status !== 200) throw new Error(`GET /docs/openapi.json answered ${res.status}`);
    return new OpenApi(await res.json());
  }

  /**
   * The operation a concrete request goes to, as the router picks it: a trailing slash is ignored
   * (every route also answers with one), a parameter takes a non-empty segment, and literal segments
   * win over parameters.
   */
  find(method: string, url: string): OpenApiOperation | undefined {
    const path = url.split('?')[0].replace(/(.)\/$/, '$1');
    const segments = path.split('/');
    const candidates = this.operations.filter((op) => {
      if (op.method !== method.toLowerCase()) return false;
      const template = op.path.split('/');
      return (
        template.length === segments.length &&
        template.every((t, i) => (/^\{.+\}$/.test(t) ? segments[i] !== '' : t === segments[i]))
      );
    });
    const params = (op: OpenApiOperation) => (op.path.match(/\{/g) ?? []).length;
    return candidates.sort((a, b) => params(a) - params(b))[0];
  }

  /** Validates a JSON value against a schema of the document, given as a JSON pointer into it. */
  validate(schemaPointer: string, value: unknown): string[] {
    let validate = this.compiled.get(schemaPointer);
    if (!validate) {
      validate = this.ajv.getSchema(`${DOC_ID}#${schemaPointer}`);
      if (!validate) throw new Error(`no schema at ${schemaPointer}`);
      this.compiled.set(schemaPointer, validate);
    }
    if (validate(value)) return [];
    return (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''}`.trim());
  }

  /** What is wrong with `answer` to `method url` as the document describes it; empty when nothing is. */
  problems(method: string, url: string, answer: Answer): string[] {
    const op = this.find(method, url);
    if (!op) return [`no operation ${method.toUpperCase()} ${url.split('?')[0]} in the document`];
    const where = `${method.toUpperCase()} ${op.path} ${answer.status}`;
    const response = op.operation.responses?.[String(answer.status)];
    if (!response) return [`${where}: status not documented`];
    const header = (name: string) =>
      answer.headers instanceof Headers ? answer.headers.get(name) : answer.headers[name];
    const media = (header('content-type') ?? '').split(';')[0].trim();
    const content = (response.content ?? {}) as Record<string, Json>;
    if (!media || answer.text === '') {
      return Object.keys(content).length === 0 || answer.status === 204
        ? []
        : [`${where}: an empty answer where the document gives ${Object.keys(content).join(', ')}`];
    }
    if (!content[media])
      return [`${where}: media type ${media} not documented (${Object.keys(content).join(', ')})`];
    if (!media.endsWith('json')) return [];
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      return [`${where}: ${media} that is not JSON`];
    }
    const at = pointer(
      'paths',
      op.path,
      op.method,
      'responses',
      String(answer.status),
      'content',
      media,
      'schema',
    );
    return this.validate(at, body).map((e) => `${where}: ${e} in ${answer.text.slice(0, 300)}`);
  }
}

const cache = new Map<string, Promise<OpenApi>>();

/** The document of the Herald at `baseUrl`, loaded once per test file. */
export function openApiOf(baseUrl: string): Promise<OpenApi> {
  let doc = cache.get(baseUrl);
  if (!doc) {
    doc = OpenApi.load(baseUrl);
    cache.set(baseUrl, doc);
  }
  return doc;
}

/** Expects `answer` to `method url` to be one the OpenAPI document describes (status, media type, schema). */
export async function expectDocumented(
  herald: { url: string },
  method: string,
  url: string,
  answer: Answer,
): Promise<void> {
  const api = await openApiOf(herald.url);
  expect(api.problems(method, url, answer)).toEqual([]);
}
