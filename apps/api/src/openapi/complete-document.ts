import type { OpenAPIObject } from '@nestjs/swagger';
import { problemContent } from './api-doc';

type Responses = Record<string, { description: string; content?: unknown }>;

/** Problems the document gives every operation they can happen to, so no route has to list them. */
const UNIVERSAL: Array<{ status: number; detail: string; when: (op: OperationFacts) => boolean }> = [
  {
    status: 400,
    detail: 'Invalid input: a field, a query parameter (control characters included) or the JSON body.',
    when: () => true,
  },
  { status: 401, detail: 'No API key, or not a valid one.', when: (op) => op.secured },
  {
    status: 403,
    detail: 'The API key lacks the scope, or is limited to other topics.',
    when: (op) => op.secured,
  },
  { status: 404, detail: 'No such resource (any id that does not exist).', when: (op) => op.pathParams },
  { status: 413, detail: 'The body is larger than MAX_BODY_BYTES.', when: (op) => op.method !== 'get' },
  { status: 415, detail: 'The body is not application/json.', when: (op) => op.method !== 'get' },
];

interface OperationFacts {
  method: string;
  secured: boolean;
  pathParams: boolean;
}

/**
 * Finishes the generated document: every operation gets the problem answers that apply to it (with
 * `application/problem+json` content and an example), and the security scheme says what the bearer is.
 */
export function completeOpenApiDocument(doc: OpenAPIObject): OpenAPIObject {
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item as Record<string, Record<string, unknown>>)) {
      if (typeof op !== 'object' || op === null || !('responses' in op)) continue;
      const security = op.security as unknown[] | undefined;
      const facts: OperationFacts = {
        method,
        secured: Array.isArray(security) && security.length > 0,
        pathParams: path.includes('{'),
      };
      const responses = op.responses as Responses;
      for (const u of UNIVERSAL) {
        if (!u.when(facts) || responses[u.status]) continue;
        responses[u.status] = { description: u.detail, content: problemContent(u.status, u.detail) };
      }
    }
  }
  return doc;
}
