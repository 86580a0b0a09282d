import type { FastifyInstance } from 'fastify';
import { ProblemException } from './problem';

/** Deeper JSON is refused before it is parsed; far more than any message or policy needs. */
export const MAX_JSON_DEPTH = 100;

/**
 * Whether JSON text nests arrays and objects deeper than `limit`, found by scanning the text once: no
 * recursion, so even a body of 100,000 brackets costs one pass and no stack.
 */
export function jsonNestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

const PROTOTYPE_KEY = 'The JSON body has a "__proto__" or "constructor.prototype" key, which Herald refuses.';

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Replaces Fastify's JSON parser with one that refuses, each with a clear 400, before anything recursive
 * (validation, class-transformer, structuredClone, JSON.stringify) ever sees the body: JSON nested deeper
 * than MAX_JSON_DEPTH, `__proto__` and `constructor.prototype` keys, and a top level that is not an
 * object (every JSON body Herald takes is an object, so `null` is no empty PATCH).
 */
export function useJsonBodyParser(fastify: FastifyInstance): void {
  const parse = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string;
    if (jsonNestsDeeperThan(text, MAX_JSON_DEPTH)) {
      done(new ProblemException(400, `The JSON body nests deeper than ${MAX_JSON_DEPTH} levels.`), undefined);
      return;
    }
    void parse(req, text, (err: Error | null, value?: unknown) => {
      if (err) {
        // Fastify's parser says only "not valid JSON"; valid JSON it refused carries a prototype key.
        done(isJson(text) ? new ProblemException(400, PROTOTYPE_KEY) : err, undefined);
      } else if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        done(new ProblemException(400, 'The JSON body must be an object.'), undefined);
      } else {
        done(null, value);
      }
    });
  });
}
