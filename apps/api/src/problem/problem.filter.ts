import { ArgumentsHost, Catch, HttpException, type ExceptionFilter } from '@nestjs/common';
import { errorResponse, SnsError } from '@herald/sns';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { PublishUnavailableError } from '@herald/queue';
import { problem, ProblemException, type ProblemBody } from './problem';

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message?: string;
}

/** Maps Fastify's own request errors (parsing, size, media type) to problem bodies with clear words. */
export function problemFromFastifyError(err: FastifyLikeError, maxBodyBytes: number): ProblemBody | null {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return problem(
        400,
        err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
          ? 'The JSON body is empty.'
          : 'The body is not valid JSON.',
      );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return problem(413, `The request body is larger than the ${maxBodyBytes} bytes allowed.`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? problem(415, 'Send the body as application/json.')
        : problem(400, 'The Content-Length header does not match the body.');
    default:
      break;
  }
  if (err instanceof SyntaxError) return problem(400, 'The body is not valid JSON.');
  const status = err.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return problem(status, err.message ?? 'The request was not accepted.');
  }
  return null;
}

/** Seconds a client is asked to wait before trying again while a dependency is unreachable. */
export const RETRY_AFTER_SECONDS = 2;

/**
 * An error that means a dependency (Redis, the catalog) cannot be reached or answered too late: a 503
 * the client may retry, never a 500. Connection errors of node-postgres and ioredis, timeouts (a
 * statement PostgreSQL cancels at its statement_timeout, just under STATEMENT_TIMEOUT_MS, or one a
 * server that cannot answer leaves unanswered: node-postgres's "Query read timeout"), and Herald's
 * own refusals.
 */
export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (isPublishRefusal(err) || err.name === 'MaxRetriesPerRequestError') return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    // Socket errors, PostgreSQL's connection-exception and operator-intervention classes, and its
    // cancellation of a statement that ran past statement_timeout (57014).
    if (/^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN)$/.test(code))
      return true;
    if (/^(08|57P|57014$)/.test(code)) return true;
  }
  return /Connection (is closed|terminated)|connection timeout|timeout exceeded when trying to connect|Query read timeout|Command timed out|Stream isn't writeable|Client has encountered a connection error|the database system is (starting up|shutting down)/i.test(
    err.message,
  );
}

/** A publish Herald refused itself (not accepted in time, or not replicated in time): its message says why. */
function isPublishRefusal(err: Error): boolean {
  return err instanceof PublishUnavailableError;
}

const SNS_CODES: Record<number, string> = { 404: 'NotFound', 413: 'RequestEntityTooLarge' };

/** Requests to the SNS API (at the root: form posts only), whose clients read XML errors only. */
const isSnsRequest = (req: FastifyRequest) =>
  req.method === 'POST' &&
  (/^\/sns(\/|\?|$)/.test(req.url) ||
    ((req.url === '/' || req.url.startsWith('/?')) &&
      /^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '')));

/**
 * Every error leaves as application/problem+json (as SNS's XML error on the SNS API, e.g. a body too
 * large); anything unexpected is logged and answered 500.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(
    private readonly log: Logger,
    private readonly maxBodyBytes: number,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    let body: ProblemBody;
    let headers: Record<string, string> = {};
    if (exception instanceof ProblemException) {
      body = exception.getResponse() as ProblemBody;
      headers = exception.headers;
    } else if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const detail =
        typeof response === 'string'
          ? response
          : typeof (response as { message?: unknown }).message === 'string'
            ? (response as { message: string }).message
            : exception.message;
      body = problem(status, status === 404 ? 'No such route.' : detail);
    } else {
      const fromFastify = problemFromFastifyError(exception as FastifyLikeError, this.maxBodyBytes);
      if (fromFastify) {
        body = fromFastify;
      } else if (isUnavailable(exception)) {
        this.log.warn({ err: (exception as Error).message }, 'a dependency is unavailable; answered 503');
        body = problem(
          503,
          exception instanceof Error && isPublishRefusal(exception)
            ? exception.message
            : 'Herald cannot reach its storage right now; nothing was changed. Try again shortly.',
        );
        headers = { 'retry-after': String(RETRY_AFTER_SECONDS) };
      } else {
        this.log.error({ err: exception }, 'unhandled error');
        body = problem(500, 'Something went wrong on our side; it has been logged.');
      }
    }
    if (isSnsRequest(host.switchToHttp().getRequest<FastifyRequest>())) {
      const code = SNS_CODES[body.status] ?? (body.status >= 500 ? 'InternalError' : 'InvalidParameter');
      void reply
        .status(body.status)
        .header('content-type', 'text/xml; charset=utf-8')
        .send(errorResponse(new SnsError(code, body.status, body.detail), randomUUID()));
      return;
    }
    void reply
      .status(body.status)
      .headers({ ...headers, 'content-type': 'application/problem+json; charset=utf-8' })
      .send(JSON.stringify(body));
  }
}
