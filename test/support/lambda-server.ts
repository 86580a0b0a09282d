import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A scripted answer for the next invocation. With an empty script every invocation succeeds. */
export type LambdaAnswer =
  | { kind: 'ok'; payload?: unknown }
  /** The function ran and threw: 200 with `X-Amz-Function-Error: Unhandled`. */
  | { kind: 'functionError'; errorType?: string; errorMessage: string }
  /** An Invoke API error, e.g. 404 ResourceNotFoundException or 429 TooManyRequestsException. */
  | { kind: 'error'; status: number; type: string; message: string; retryAfterSeconds?: number }
  /** Never answer, as a function that runs past the client's timeout. */
  | { kind: 'hang' };

export interface LambdaInvocation {
  method: string;
  /** The raw request path, as sent. */
  path: string;
  /** The FunctionName path segment, decoded (a name or an unqualified ARN). */
  functionName: string | null;
  qualifier: string | null;
  invocationType: string | null;
  authorization: string;
  /** The parts of `Credential=<key>/<date>/<region>/<service>/aws4_request`. */
  credential: { accessKeyId: string; date: string; region: string; service: string } | null;
  signedHeaders: string[];
  /** Whether the AWS Signature Version 4 recomputed here with the server's secret matches. */
  signatureValid: boolean;
  sessionToken: string | null;
  payload: string;
  /** The status answered (0 for `hang`); 403/404 from the server's own checks come with `problem`. */
  answeredWith: number;
  problem: string | null;
}

export interface LambdaServerOptions {
  accessKeyId?: string;
  secretAccessKey?: string;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

/**
 * A Lambda Invoke API on a free loopback port, for the real AWS SDK through LAMBDA_ENDPOINT_URL.
 * Checks method, path, X-Amz-Invocation-Type and the SigV4 Authorization header (shape and
 * signature, recomputed independently of the SDK); records invocations; answers as scripted.
 */
export class LambdaServer {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly invocations: LambdaInvocation[] = [];
  private readonly script: LambdaAnswer[] = [];
  private readonly events = new EventEmitter();
  private readonly server: Server;
  private consumed = 0;
  private listeningPort = 0;

  constructor(options: LambdaServerOptions = {}) {
    this.accessKeyId = options.accessKeyId ?? `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
    this.secretAccessKey = options.secretAccessKey ?? randomBytes(30).toString('base64');
    this.server = createServer((req, res) => this.handle(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.listeningPort = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** The origin to use as LAMBDA_ENDPOINT_URL. */
  get url(): string {
    return `http://127.0.0.1:${this.listeningPort}`;
  }

  reply(...answers: LambdaAnswer[]): this {
    this.script.push(...answers);
    return this;
  }

  async next(): Promise<LambdaInvocation> {
    await this.waitFor(this.consumed + 1);
    return this.invocations[this.consumed++];
  }

  waitFor(n: number): Promise<LambdaInvocation[]> {
    if (this.invocations.length >= n) return Promise.resolve(this.invocations.slice());
    return new Promise((resolve) => {
      const onInvocation = () => {
        if (this.invocations.length < n) return;
        this.events.off('invocation', onInvocation);
        resolve(this.invocations.slice());
      };
      this.events.on('invocation', onInvocation);
    });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://lambda.local');
      const pathMatch = INVOKE_PATH.exec(url.pathname);
      const authorization = header(req, 'authorization') ?? '';
      const auth = AUTHORIZATION.exec(authorization);
      const signedHeaders = auth ? auth[5].split(';') : [];
      const signatureValid = auth ? this.signatureMatches(req, body, auth) : false;
      const invocation: LambdaInvocation = {
        method: req.method ?? '',
        path: req.url ?? '',
        functionName: pathMatch ? decodeURIComponent(pathMatch[1]) : null,
        qualifier: url.searchParams.get('Qualifier'),
        invocationType: header(req, 'x-amz-invocation-type'),
        authorization,
        credential: auth ? { accessKeyId: auth[1], date: auth[2], region: auth[3], service: auth[4] } : null,
        signedHeaders,
        signatureValid,
        sessionToken: header(req, 'x-amz-security-token'),
        payload: body.toString('utf8'),
        answeredWith: 0,
        problem: null,
      };

      let answer: LambdaAnswer;
      if (req.method !== 'POST' || !pathMatch) {
        answer = {
          kind: 'error',
          status: 404,
          type: 'UnknownOperationException',
          message: 'Unknown operation',
        };
        invocation.problem = `not an Invoke call: ${req.method} ${url.pathname}`;
      } else if (!auth) {
        answer = {
          kind: 'error',
          status: 403,
          type: 'IncompleteSignatureException',
          message: 'Bad Authorization',
        };
        invocation.problem = 'Authorization header is not AWS SigV4';
      } else if (auth[1] !== this.accessKeyId) {
        answer = { kind: 'error', status: 403, type: 'UnrecognizedClientException', message: 'Unknown key' };
        invocation.problem = 'unknown access key id';
      } else if (!signatureValid || auth[4] !== 'lambda' || !signedHeaders.includes('host')) {
        answer = {
          kind: 'error',
          status: 403,
          type: 'InvalidSignatureException',
          message: 'Signature mismatch',
        };
        invocation.problem = 'signature does not match';
      } else {
        answer = this.script.shift() ?? { kind: 'ok' };
      }
      invocation.answeredWith = answer.kind === 'error' ? answer.status : answer.kind === 'hang' ? 0 : 200;
      this.invocations.push(invocation);
      this.events.emit('invocation');
      if (answer.kind !== 'hang') respond(res, answer);
    });
  }

  private signatureMatches(req: IncomingMessage, body: Buffer, auth: RegExpExecArray): boolean {
    const [, accessKeyId, date, region, service, signedHeaderList, signature] = auth as unknown as string[];
    if (accessKeyId !== this.accessKeyId) return false;
    const amzDate = header(req, 'x-amz-date');
    if (!amzDate || !amzDate.startsWith(date)) return false;
    const rawUrl = req.url ?? '/';
    const [rawPath = '/', rawQuery = ''] = rawUrl.split('?', 2) as [string, string | undefined];
    // Services other than S3 sign each path segment URI-encoded twice: once on the wire, once more here.
    const canonicalPath = rawPath
      .split('/')
      .map((segment) => rfc3986(segment))
      .join('/');
    const canonicalQuery = rawQuery
      .split('&')
      .filter(Boolean)
      .map((pair) => {
        const [k = '', v = ''] = pair.split('=', 2);
        return [rfc3986(decodeURIComponent(k)), rfc3986(decodeURIComponent(v))] as const;
      })
      .sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : 1) : a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const names = signedHeaderList.split(';');
    const canonicalHeaders = names
      .map((name) => `${name}:${(header(req, name) ?? '').trim().replace(/\s+/g, ' ')}\n`)
      .join('');
    const payloadHash = header(req, 'x-amz-content-sha256') ?? sha256(body);
    const canonicalRequest = [
      req.method,
      canonicalPath,
      canonicalQuery,
      canonicalHeaders,
      signedHeaderList,
      payloadHash,
    ].join('\n');
    const scope = `${date}/${region}/${service}/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
    let key: Buffer = hmac(`AWS4${this.secretAccessKey}`, date);
    for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
    const expected = Buffer.from(createHmac('sha256', key).update(stringToSign).digest('hex'));
    const got = Buffer.from(signature);
    return expected.length === got.length && timingSafeEqual(expected, got);
  }
}

function respond(res: ServerResponse, answer: Exclude<LambdaAnswer, { kind: 'hang' }>): void {
  const requestId = randomBytes(16).toString('hex');
  if (answer.kind === 'ok') {
    res.writeHead(200, {
      'content-type': 'application/json',
      'x-amzn-requestid': requestId,
      'x-amz-executed-version': '$LATEST',
    });
    res.end(JSON.stringify(answer.payload ?? null));
    return;
  }
  if (answer.kind === 'functionError') {
    res.writeHead(200, {
      'content-type': 'application/json',
      'x-amzn-requestid': requestId,
      'x-amz-executed-version': '$LATEST',
      'x-amz-function-error': 'Unhandled',
    });
    res.end(
      JSON.stringify({
        errorType: answer.errorType ?? 'Error',
        errorMessage: answer.errorMessage,
        trace: [],
      }),
    );
    return;
  }
  res.writeHead(answer.status, {
    'content-type': 'application/json',
    'x-amzn-requestid': requestId,
    'x-amzn-errortype': answer.type,
    ...(answer.retryAfterSeconds !== undefined ? { 'retry-after': String(answer.retryAfterSeconds) } : {}),
  });
  res.end(JSON.stringify({ Type: 'User', message: answer.message }));
}

function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name.toLowerCase()];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(',') : value;
}

function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}
