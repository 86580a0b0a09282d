import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { SnsError } from './sns-error';

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** AWS refuses a request dated more than 15 minutes from its own clock, either way. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

/** What a request carries, as received: the raw path and query, lower-case headers, the body's bytes. */
export interface SignedRequest {
  method: string;
  /** The request target as sent (`/sns/?a=b`), still percent-encoded. */
  url: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Buffer;
}

export interface SigV4Scope {
  region: string;
  service: string;
}

/** The parts of an `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` header. */
export interface SigV4Authorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

const incomplete = (message: string) => new SnsError('IncompleteSignature', 400, message);
const mismatch = (message: string) => new SnsError('SignatureDoesNotMatch', 403, message);

export function parseAuthorization(header: string): SigV4Authorization {
  const space = header.indexOf(' ');
  const algorithm = space < 0 ? header : header.slice(0, space);
  if (algorithm !== ALGORITHM)
    throw incomplete(`Unsupported AWS 'algorithm': '${algorithm}'; Herald accepts ${ALGORITHM} only.`);
  const fields = new Map<string, string>();
  for (const part of header.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature)
    throw incomplete(
      "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.",
    );
  const scope = credential.split('/');
  if (scope.length !== 5 || scope.some((p) => p === ''))
    throw incomplete(
      `Credential should be <access key id>/<date>/<region>/<service>/aws4_request, not '${credential}'.`,
    );
  const [accessKeyId, date, region, service, terminator] = scope;
  if (terminator !== 'aws4_request')
    throw mismatch(
      `Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'.`,
    );
  if (!/^[0-9a-f]{64}$/.test(signature)) throw incomplete('The Signature must be 64 lower-case hex digits.');
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(';'), signature };
}

/** `20150830T123600Z` → a Date, or null when it is not one. */
function parseAmzDate(value: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return null;
  const date = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
  return Number.isNaN(date.getTime()) || date.toISOString().slice(0, 4) !== m[1] ? null : date;
}

/** RFC 3986 unreserved characters stay; everything else is %XX, as SigV4 canonicalisation wants. */
function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** The canonical URI of a non-S3 service: dot segments resolved, every segment encoded once more. */
function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const trailing = segments.length > 0 && path.endsWith('/') ? '/' : '';
  const joined = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${trailing}`;
  return escapeUri(joined).replace(/%2F/g, '/');
}

function canonicalQuery(query: string): string {
  const pairs: Array<[string, string]> = [];
  for (const [key, value] of new URLSearchParams(query)) {
    if (key.toLowerCase() === 'x-amz-signature') continue;
    pairs.push([escapeUri(key), escapeUri(value)]);
  }
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function headerValue(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value.join(',') : value).trim().replace(/\s+/g, ' ');
}

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** The signature SigV4 gives `request` under `auth`'s scope and signed headers, keyed with `secret`. */
export function computeSignature(request: SignedRequest, auth: SigV4Authorization, secret: string): string {
  const q = request.url.indexOf('?');
  const path = q < 0 ? request.url : request.url.slice(0, q);
  const query = q < 0 ? '' : request.url.slice(q + 1);
  const headerLines = auth.signedHeaders.map((name) => `${name}:${headerValue(request.headers[name]) ?? ''}`);
  const amzDate = headerValue(request.headers['x-amz-date']) ?? '';
  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalPath(path),
    canonicalQuery(query),
    ...headerLines,
    '',
    auth.signedHeaders.join(';'),
    sha256Hex(request.body),
  ].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const key = [auth.date, auth.region, auth.service, 'aws4_request'].reduce<Buffer | string>(
    (k, part) => hmac(k, part),
    `AWS4${secret}`,
  );
  return createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
}

/**
 * Checks everything about a request's SigV4 signature that needs no secret (the header's shape, the
 * scope's region and service, the date within 15 minutes, the signed headers present, the payload hash)
 * and returns the parsed header; throws the SnsError AWS would answer.
 */
export function checkSigV4Request(
  request: SignedRequest,
  scope: SigV4Scope,
  now = new Date(),
): SigV4Authorization {
  const header = headerValue(request.headers.authorization);
  if (!header) {
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    if (/[?&]X-Amz-Signature=/i.test(query))
      throw incomplete('Herald takes the SigV4 signature in the Authorization header only.');
    throw new SnsError('MissingAuthenticationToken', 403, 'Request is missing Authentication Token');
  }
  const auth = parseAuthorization(header);
  if (auth.service !== scope.service)
    throw mismatch(`Credential should be scoped to correct service: '${scope.service}'.`);
  if (auth.region !== scope.region)
    throw mismatch(`Credential should be scoped to a valid region, not '${auth.region}'.`);
  if (!auth.signedHeaders.includes('host'))
    throw incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  for (const name of auth.signedHeaders) {
    if (name !== name.toLowerCase() || request.headers[name] === undefined)
      throw mismatch(`The signed header '${name}' is not in the request.`);
  }
  const amzDate = headerValue(request.headers['x-amz-date']);
  const date = amzDate ? parseAmzDate(amzDate) : null;
  if (!date)
    throw incomplete(
      "Authorization header requires existence of a valid 'X-Amz-Date' header (yyyyMMddTHHmmssZ).",
    );
  if (!auth.signedHeaders.includes('x-amz-date')) throw incomplete("'X-Amz-Date' must be a 'SignedHeader'.");
  if (auth.date !== amzDate!.slice(0, 8))
    throw mismatch(
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${amzDate!.slice(0, 8)}'.`,
    );
  if (Math.abs(now.getTime() - date.getTime()) > MAX_CLOCK_SKEW_MS)
    throw new SnsError(
      'RequestExpired',
      400,
      `Request has expired: it is dated ${amzDate}, more than 15 minutes from the server's time.`,
    );
  const declared = headerValue(request.headers['x-amz-content-sha256']);
  if (declared !== undefined && declared !== sha256Hex(request.body))
    throw new SnsError(
      'XAmzContentSHA256Mismatch',
      400,
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
    );
  if (request.headers['x-amz-security-token'] !== undefined)
    throw new SnsError(
      'InvalidClientTokenId',
      403,
      'Herald issues no session tokens: sign with an access key alone.',
    );
  return auth;
}

/** Whether `auth.signature` is the one `secret` gives the request (constant-time comparison). */
export function signatureMatches(request: SignedRequest, auth: SigV4Authorization, secret: string): boolean {
  const expected = Buffer.from(computeSignature(request, auth, secret), 'hex');
  const given = Buffer.from(auth.signature, 'hex');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export const signatureMismatch = () =>
  mismatch(
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
  );

export const unknownAccessKey = () =>
  new SnsError('InvalidClientTokenId', 403, 'The security token included in the request is invalid.');
