import type { FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { problem, type ProblemBody } from './problem';

export const PROBLEM_JSON = 'application/problem+json; charset=utf-8';

/** Sends a problem body from outside Nest's exception filters (Fastify's own hooks and errors). */
export function sendProblem(
  reply: FastifyReply,
  body: ProblemBody,
  headers: Record<string, string> = {},
): FastifyReply {
  return reply
    .status(body.status)
    .headers({ ...headers, 'content-type': PROBLEM_JSON })
    .send(JSON.stringify(body));
}

/**
 * Errors the router meets before any route runs. A path that does not decode, or whose id is longer than
 * any id or topic name can be, names nothing that exists: 404, as for any unknown id (API.md). The URL
 * is never echoed: it may be long, and it may carry what the client did not mean to show.
 */
export function frameworkErrors(
  err: { code?: string; message: string },
  _req: FastifyRequest,
  reply: FastifyReply,
): void {
  const notFound = err.code === 'FST_ERR_BAD_URL' || err.code === 'FST_ERR_MAX_PARAM_LENGTH';
  void sendProblem(
    reply,
    notFound ? problem(404, 'No such resource.') : problem(400, 'The request is not valid.'),
  );
}

/**
 * Node's HTTP parser refuses a request before Fastify sees it (headers over the size limit, malformed
 * HTTP, a request that took too long): answer it as problem+json too, then close the connection.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, detail] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'The request headers are larger than the server accepts.']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'The request was not received in time.']
        : [400, 'The request is not valid HTTP.'];
  const body = JSON.stringify(problem(status, detail));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${PROBLEM_JSON}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
