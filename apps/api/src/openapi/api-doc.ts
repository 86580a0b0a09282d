import { applyDecorators, type Type } from '@nestjs/common';
import { ApiExtraModels, ApiOperation, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import type { ReferenceObject, SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { problem } from '../problem/problem';
import { ProblemSchema } from './schemas';

export interface AnswerDoc {
  /** 200 unless given. */
  status?: number;
  /** The JSON answer: one of these, a page of these, or a schema of its own. */
  type?: Type<unknown>;
  page?: Type<unknown>;
  schema?: SchemaObject | ReferenceObject;
  example?: unknown;
  description?: string;
  /** Also (or, with `json: false`, only) an HTML page for people who follow links. */
  html?: boolean;
  json?: boolean;
  /** Another media type than JSON, as a string (metrics, TwiML). */
  text?: { media: string; example: string };
}

export interface DocOptions extends AnswerDoc {
  summary: string;
  /** More success (or non-problem) answers. */
  also?: AnswerDoc[];
  /** Classes a hand-written `schema` refers to. */
  models?: Type<unknown>[];
  /**
   * Problem answers of this route beyond those the document gives every route it applies to (400; 401
   * and 403 with a key; 404 with a path parameter; 413 and 415 with a body: see completeOpenApiDocument).
   */
  problems?: Array<[status: number, detail: string]>;
}

const HTML_EXAMPLE = '<!doctype html><html lang="en">…</html>';

function jsonSchema(a: AnswerDoc): SchemaObject | ReferenceObject | undefined {
  if (a.schema) return a.schema;
  if (a.type) return { $ref: getSchemaPath(a.type) };
  if (a.page) {
    return {
      type: 'object',
      required: ['items', 'nextCursor'],
      properties: {
        items: { type: 'array', items: { $ref: getSchemaPath(a.page) } },
        nextCursor: { type: 'string', nullable: true, description: 'null on the last page' },
      },
    };
  }
  return undefined;
}

function answer(a: AnswerDoc) {
  const content: Record<string, { schema: SchemaObject | ReferenceObject; example: unknown }> = {};
  const schema = jsonSchema(a);
  const example = a.page ? { items: [a.example], nextCursor: null } : a.example;
  if (schema && a.json !== false) content['application/json'] = { schema, example };
  if (a.html) content['text/html'] = { schema: { type: 'string' }, example: HTML_EXAMPLE };
  if (a.text) content[a.text.media] = { schema: { type: 'string' }, example: a.text.example };
  const status = a.status ?? 200;
  return ApiResponse({
    status,
    description: a.description ?? (status === 204 ? 'Done; no content.' : 'Success.'),
    ...(Object.keys(content).length > 0 ? { content } : {}),
  });
}

/** The one place a route's OpenAPI operation is described: summary, success answers with examples, problems. */
export function ApiDoc(options: DocOptions): MethodDecorator {
  const answers = [options, ...(options.also ?? [])];
  const models = answers.flatMap((a) => [a.type, a.page]).filter((t): t is Type<unknown> => !!t);
  models.push(...(options.models ?? []));
  return applyDecorators(
    ApiOperation({ summary: options.summary }),
    ApiExtraModels(ProblemSchema, ...models),
    ...answers.map(answer),
    ...(options.problems ?? []).map(([status, detail]) => problemResponse(status, detail)),
  );
}

export function problemResponse(status: number, detail: string) {
  return ApiResponse({ status, description: detail, content: problemContent(status, detail) });
}

export function problemContent(status: number, detail: string) {
  return {
    'application/problem+json': {
      schema: { $ref: getSchemaPath(ProblemSchema) },
      example: problem(status, detail),
    },
  };
}
