import { describe, expect, it } from 'vitest';
import { checkSigV4Request, signatureMatches, type SignedRequest } from './sigv4';
import { SnsError } from './sns-error';

/** The AWS Signature Version 4 test suite's credentials, scope and time. */
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const SCOPE = { region: 'us-east-1', service: 'service' };
const NOW = new Date('2015-08-30T12:36:00Z');
const auth = (signedHeaders: string, signature: string) =>
  `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=${signedHeaders}, Signature=${signature}`;

function request(method: string, url: string, headers: Record<string, string>, body = ''): SignedRequest {
  return {
    method,
    url,
    headers: { host: 'example.amazonaws.com', 'x-amz-date': '20150830T123600Z', ...headers },
    body: Buffer.from(body),
  };
}

/** Cases of the test suite, with the signatures AWS publishes for them. */
const SUITE: Array<[string, SignedRequest]> = [
  [
    'get-vanilla',
    request('GET', '/', {
      authorization: auth(
        'host;x-amz-date',
        '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
      ),
    }),
  ],
  [
    'post-vanilla',
    request('POST', '/', {
      authorization: auth(
        'host;x-amz-date',
        '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b',
      ),
    }),
  ],
  [
    'post-vanilla-query',
    request('POST', '/?Param1=value1', {
      authorization: auth(
        'host;x-amz-date',
        '28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11',
      ),
    }),
  ],
  [
    'get-header-key-duplicate',
    request('GET', '/', {
      'my-header1': 'value2,value2,value1',
      authorization: auth(
        'host;my-header1;x-amz-date',
        'c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea',
      ),
    }),
  ],
  [
    'post-header-value-case',
    request('POST', '/', {
      'my-header1': 'VALUE1',
      authorization: auth(
        'host;my-header1;x-amz-date',
        'cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d',
      ),
    }),
  ],
  [
    'post-x-www-form-urlencoded',
    request(
      'POST',
      '/',
      {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: auth(
          'content-type;host;x-amz-date',
          'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a',
        ),
      },
      'Param1=value1',
    ),
  ],
];

const FORM = SUITE[5][1];

describe('SigV4 verification', () => {
  it.each(SUITE)('accepts the test suite case %s', (_, req) => {
    const parsed = checkSigV4Request(req, SCOPE, NOW);
    expect(parsed).toMatchObject({ accessKeyId: 'AKIDEXAMPLE', date: '20150830', region: 'us-east-1' });
    expect(signatureMatches(req, parsed, SECRET)).toBe(true);
  });

  it.each<[string, SignedRequest, string]>([
    ['another secret', FORM, `${SECRET.slice(0, -1)}X`],
    ['a changed body', { ...FORM, body: Buffer.from('Param1=value2') }, SECRET],
    [
      'a changed signed header',
      { ...FORM, headers: { ...FORM.headers, 'content-type': 'text/plain' } },
      SECRET,
    ],
    ['another path', { ...FORM, url: '/sns/' }, SECRET],
    ['another method', { ...FORM, method: 'PUT' }, SECRET],
    ['a query added', { ...FORM, url: '/?Action=DeleteTopic' }, SECRET],
  ])('finds the signature wrong with %s', (_, req, secret) => {
    expect(signatureMatches(req, checkSigV4Request(req, SCOPE, NOW), secret)).toBe(false);
  });

  it('ignores headers that were not signed', () => {
    const req = { ...FORM, headers: { ...FORM.headers, 'user-agent': 'something else' } };
    expect(signatureMatches(req, checkSigV4Request(req, SCOPE, NOW), SECRET)).toBe(true);
  });

  const withHeaders = (headers: Record<string, string | undefined>): SignedRequest => ({
    ...FORM,
    headers: { ...FORM.headers, ...headers },
  });
  const formAuth = FORM.headers.authorization as string;

  it.each<[string, SignedRequest, Date, string, RegExp]>([
    [
      'no Authorization header',
      withHeaders({ authorization: undefined }),
      NOW,
      'MissingAuthenticationToken',
      /missing Authentication Token/,
    ],
    [
      'a presigned query',
      { ...withHeaders({ authorization: undefined }), url: '/?X-Amz-Signature=abc' },
      NOW,
      'IncompleteSignature',
      /Authorization header only/,
    ],
    ['SigV2', withHeaders({ authorization: 'AWS AKIDEXAMPLE:abc' }), NOW, 'IncompleteSignature', /algorithm/],
    [
      'no Signature',
      withHeaders({ authorization: formAuth.replace(/, Signature=.*/, '') }),
      NOW,
      'IncompleteSignature',
      /requires/,
    ],
    [
      'a short credential',
      withHeaders({ authorization: formAuth.replace('AKIDEXAMPLE/', '') }),
      NOW,
      'IncompleteSignature',
      /Credential should be/,
    ],
    [
      'another region',
      withHeaders({ authorization: formAuth.replace('us-east-1', 'eu-west-1') }),
      NOW,
      'SignatureDoesNotMatch',
      /valid region, not 'eu-west-1'/,
    ],
    [
      'another service',
      withHeaders({ authorization: formAuth.replace('/service/', '/sqs/') }),
      NOW,
      'SignatureDoesNotMatch',
      /correct service/,
    ],
    [
      'host not signed',
      withHeaders({ authorization: formAuth.replace('content-type;host;', 'content-type;') }),
      NOW,
      'IncompleteSignature',
      /Host/,
    ],
    [
      'a signed header missing',
      withHeaders({ 'content-type': undefined }),
      NOW,
      'SignatureDoesNotMatch',
      /content-type/,
    ],
    ['no X-Amz-Date', withHeaders({ 'x-amz-date': undefined }), NOW, 'SignatureDoesNotMatch', /x-amz-date/],
    [
      'a malformed X-Amz-Date',
      withHeaders({ 'x-amz-date': '2015-08-30T12:36:00Z' }),
      NOW,
      'IncompleteSignature',
      /X-Amz-Date/,
    ],
    [
      'a scope of another day',
      withHeaders({ 'x-amz-date': '20150831T123600Z' }),
      new Date('2015-08-31T12:36:00Z'),
      'SignatureDoesNotMatch',
      /Credential scope/,
    ],
    ['a request 16 minutes old', FORM, new Date(NOW.getTime() + 16 * 60_000), 'RequestExpired', /expired/],
    ['a request 16 minutes ahead', FORM, new Date(NOW.getTime() - 16 * 60_000), 'RequestExpired', /expired/],
    [
      'a wrong x-amz-content-sha256',
      withHeaders({ 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }),
      NOW,
      'XAmzContentSHA256Mismatch',
      /content-sha256/,
    ],
    [
      'a session token',
      withHeaders({ 'x-amz-security-token': 'token' }),
      NOW,
      'InvalidClientTokenId',
      /session tokens/,
    ],
  ])('refuses %s', (_, req, now, code, message) => {
    try {
      checkSigV4Request(req, SCOPE, now);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(SnsError);
      expect(err).toMatchObject({ code });
      expect((err as Error).message).toMatch(message);
    }
  });

  it('accepts a request 14 minutes off either way', () => {
    for (const offset of [-14, 14]) {
      expect(() => checkSigV4Request(FORM, SCOPE, new Date(NOW.getTime() + offset * 60_000))).not.toThrow();
    }
  });
});
