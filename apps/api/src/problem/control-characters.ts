import type { FastifyInstance } from 'fastify';
import { sendProblem } from './http-errors';
import { problem } from './problem';

// eslint-disable-next-line no-control-regex -- control characters are exactly what this looks for
const CONTROL = /[\u0000-\u001f\u007f]/;

const values = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);
const hasControl = (value: unknown) => typeof value === 'string' && CONTROL.test(value);

/**
 * Path parameters and query parameters with control characters are refused before any handler or SQL
 * sees them (PostgreSQL text cannot even hold NUL): a path id names nothing, so 404 (API.md); a query
 * parameter is a 400 naming it.
 */
export function refuseControlCharacters(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', async (req, reply) => {
    const params = (req.params ?? {}) as Record<string, unknown>;
    if (Object.values(params).some(hasControl)) return sendProblem(reply, problem(404, 'No such resource.'));
    const query = (req.query ?? {}) as Record<string, unknown>;
    for (const [name, value] of Object.entries(query)) {
      if (hasControl(name) || values(value).some(hasControl)) {
        const field = JSON.stringify(name).slice(1, -1).slice(0, 100);
        return sendProblem(
          reply,
          problem(400, `The query parameter "${field}" contains a control character.`, [
            { field, message: 'must not contain control characters' },
          ]),
        );
      }
    }
  });
}
