import type { FieldError } from '@herald/core';
import { HttpException } from '@nestjs/common';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
}

const TITLES: Record<number, [slug: string, title: string]> = {
  400: ['invalid-request', 'Invalid request'],
  401: ['unauthorized', 'Unauthorized'],
  403: ['forbidden', 'Forbidden'],
  404: ['not-found', 'Not found'],
  405: ['method-not-allowed', 'Method not allowed'],
  408: ['request-timeout', 'Request timeout'],
  409: ['conflict', 'Conflict'],
  413: ['payload-too-large', 'Payload too large'],
  415: ['unsupported-media-type', 'Unsupported media type'],
  422: ['unprocessable', 'Unprocessable request'],
  429: ['rate-limited', 'Too many requests'],
  431: ['headers-too-large', 'Request header fields too large'],
  500: ['internal-error', 'Internal server error'],
  503: ['unavailable', 'Service unavailable'],
};

/** RFC 9457 problem details for a status. */
export function problem(status: number, detail: string, errors?: FieldError[]): ProblemBody {
  const [slug, title] = TITLES[status] ?? ['error', 'Error'];
  return {
    type: `https://herald.dev/problems/${slug}`,
    title,
    status,
    detail,
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
}

/** An HTTP error answered as application/problem+json. */
export class ProblemException extends HttpException {
  constructor(
    status: number,
    detail: string,
    readonly errors?: FieldError[],
    readonly headers: Record<string, string> = {},
  ) {
    super(problem(status, detail, errors), status);
  }
}

export const badRequest = (detail: string, errors?: FieldError[]) =>
  new ProblemException(400, detail, errors);
export const validationFailed = (errors: FieldError[]) =>
  new ProblemException(
    400,
    errors.length === 1 ? `${errors[0].field} ${errors[0].message}` : 'The request has invalid fields.',
    errors,
  );
/** An id as an answer may quote it: never more than 64 characters of whatever the client sent. */
const quoted = (id: string) => JSON.stringify(id.length > 64 ? `${id.slice(0, 64)}…` : id);
export const notFound = (what: string, id?: string) =>
  new ProblemException(404, `${what}${id === undefined ? '' : ` ${quoted(id)}`} does not exist.`);
export const conflict = (detail: string) => new ProblemException(409, detail);
export const forbidden = (detail: string) => new ProblemException(403, detail);
