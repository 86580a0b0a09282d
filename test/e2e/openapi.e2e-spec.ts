import { RequestMethod, type Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { Validator } from '@seriousme/openapi-schema-validator';
import pino from 'pino';
import { AppModule } from '../../apps/api/src/app.module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHerald, type TestHerald } from '../support/herald';
import { OpenApi, pointer, type OpenApiOperation } from '../support/openapi';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- an OpenAPI document is JSON of many shapes
type Json = any;

/** Routes that take no API key (API.md): confirmation, unsubscribe, provider callbacks, operations. */
const PUBLIC = [
  'GET /v1/subscriptions/confirm',
  'GET /v1/subscriptions/unsubscribe',
  'POST /v1/subscriptions/unsubscribe',
  'POST /v1/providers/twilio/status',
  'POST /v1/providers/twilio/inbound',
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  // Closes the console's queue-dashboard session: it only clears the caller's own cookie (README).
  'DELETE /admin/session',
];

const name = (op: OpenApiOperation) => `${op.method.toUpperCase()} ${op.path}`;

/** The rules of issue 11 for a complete OpenAPI document, checked on every operation it has. */
describe('the OpenAPI document', () => {
  let herald: TestHerald;
  let api: OpenApi;

  beforeAll(async () => {
    herald = await startHerald('sqlite');
    api = await OpenApi.load(herald.url);
  });
  afterAll(async () => herald?.close());

  it('is a valid OpenAPI document', async () => {
    const result = await new Validator().validate(structuredClone(api.doc));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('has every route the API serves, so that tests driven by it reach them all', () => {
    const served: string[] = [];
    for (const controller of AppModule.forRoot(herald.config, pino({ level: 'silent' })).controllers ?? []) {
      const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
      const proto = (controller as Type<unknown>).prototype as Record<string, unknown>;
      for (const member of Object.getOwnPropertyNames(proto)) {
        const handler = proto[member];
        if (typeof handler !== 'function' || member === 'constructor') continue;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (method === undefined) continue;
        const path =
          `/${[base, String(Reflect.getMetadata(PATH_METADATA, handler) ?? '')].filter(Boolean).join('/')}`
            .replace(/\/+/g, '/')
            .replace(/\/$/, '')
            .replace(/:(\w+)/g, '{$1}');
        served.push(`${RequestMethod[method]} ${path}`);
      }
    }
    expect(served.length).toBeGreaterThanOrEqual(35);
    // The SNS wire API speaks AWS Query (form posts, SigV4, XML), not this document's JSON: the README's
    // "SNS compatibility" section and its own tests describe it. Only its routes are left out.
    const snsWire = new Set(['POST ', 'POST /', 'POST /sns', 'GET /sns', 'GET /sns/{file}']);
    expect(served.filter((r) => snsWire.has(r)).length).toBeGreaterThan(0);
    expect(api.operations.map(name).sort()).toEqual(served.filter((r) => !snsWire.has(r)).sort());
  });

  it('has every route of API.md, the public ones without security, the others with the bearer key', () => {
    const names = api.operations.map(name);
    for (const route of [
      ...PUBLIC,
      'POST /v1/topics/{name}/messages',
      'POST /v1/dead-letters/{id}/redrive',
    ]) {
      expect(names).toContain(route);
    }
    expect(api.operations.length).toBeGreaterThanOrEqual(35);
    for (const op of api.operations) {
      if (PUBLIC.includes(name(op))) {
        expect(op.operation.security ?? [], name(op)).toEqual([]);
      } else {
        expect(op.operation.security, name(op)).toEqual([{ bearer: [] }]);
        expect(Object.keys(op.operation.responses), name(op)).toEqual(expect.arrayContaining(['401', '403']));
      }
    }
    const scheme = api.doc.components.securitySchemes.bearer;
    expect(scheme).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(scheme.bearerFormat).not.toMatch(/jwt/i);
  });

  it('gives every operation a summary, a schema and an example for each success, and its problems', () => {
    for (const op of api.operations) {
      const where = name(op);
      expect(op.operation.summary, where).toMatch(/\S{3}/);
      const responses = op.operation.responses as Record<string, Json>;
      const statuses = Object.keys(responses).map(Number);
      expect(
        statuses.some((s) => s >= 200 && s < 300),
        where,
      ).toBe(true);
      expect(statuses, where).toContain(400);
      for (const [status, response] of Object.entries(responses)) {
        const content = (response.content ?? {}) as Record<string, Json>;
        expect(response.description, `${where} ${status}`).toBeTruthy();
        if (Number(status) === 204) {
          expect(content, `${where} 204`).toEqual({});
          continue;
        }
        const isProblem = Number(status) >= 400 && !(op.path === '/readyz' && status === '503');
        if (isProblem)
          expect(Object.keys(content), `${where} ${status}`).toEqual(['application/problem+json']);
        expect(Object.keys(content).length, `${where} ${status} has no content`).toBeGreaterThan(0);
        for (const [media, entry] of Object.entries(content)) {
          expect(entry.schema, `${where} ${status} ${media} schema`).toBeDefined();
          expect(entry.example, `${where} ${status} ${media} example`).toBeDefined();
          if (!media.endsWith('json')) continue;
          // The example itself must be an answer the schema accepts.
          const at = pointer('paths', op.path, op.method, 'responses', status, 'content', media, 'schema');
          expect(api.validate(at, entry.example), `${where} ${status} example`).toEqual([]);
          if (isProblem) expect(entry.example.status, `${where} ${status}`).toBe(Number(status));
        }
      }
      // Every path parameter can name nothing: 404 is documented.
      if (op.path.includes('{')) expect(statuses, where).toContain(404);
    }
  });

  it('marks optional headers optional and documents the Twilio signature', () => {
    const publish = api.find('post', '/v1/topics/t/messages')!;
    const headers = (publish.operation.parameters as Json[]).filter((p) => p.in === 'header');
    expect(headers).toEqual([expect.objectContaining({ name: 'idempotency-key', required: false })]);
    for (const path of ['/v1/providers/twilio/status', '/v1/providers/twilio/inbound']) {
      const op = api.find('post', path)!;
      expect(op.operation.parameters).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ in: 'header', name: 'X-Twilio-Signature', required: true }),
        ]),
      );
      expect(Object.keys(op.operation.requestBody.content)).toContain('application/x-www-form-urlencoded');
    }
  });

  it('lets the body of a publish be any JSON value', () => {
    const ref = api.find('post', '/v1/topics/t/messages')!.operation.requestBody.content['application/json']
      .schema.$ref as string;
    const at = ref.replace(/^#/, '');
    for (const body of ['text', 1, 2.5, true, null, [1, 'a'], { orderId: 1 }]) {
      expect(api.validate(at, { body }), JSON.stringify(body)).toEqual([]);
    }
    // The same validator refuses what the schema does not allow: it is not a rubber stamp.
    expect(api.validate(at, {})).not.toEqual([]);
    expect(api.validate(at, { body: 1, colour: 'red' })).not.toEqual([]);
    expect(api.validate(at, { body: 1, subject: 7 })).not.toEqual([]);
  });
});
