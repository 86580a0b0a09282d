import { describe, expect, it } from 'vitest';
import { classifySmtpError } from './classify-smtp-error';

function smtpError(fields: Record<string, unknown>, message = 'SMTP failure'): Error {
  return Object.assign(new Error(message), fields);
}

describe('classifySmtpError', () => {
  it.each([
    // what, error, result, statusCode, action
    [
      '451 at RCPT',
      { code: 'EENVELOPE', responseCode: 451, permanent: false, command: 'RCPT TO' },
      'retry',
      451,
      undefined,
    ],
    [
      '421 service closing',
      { code: 'EENVELOPE', responseCode: 421, permanent: false, command: 'MAIL FROM' },
      'retry',
      421,
      undefined,
    ],
    [
      '452 mailbox full, temporary',
      { code: 'EMESSAGE', responseCode: 452, permanent: false, command: 'DATA' },
      'retry',
      452,
      undefined,
    ],
    ['503 bad sequence', { code: 'EPROTOCOL', responseCode: 503, permanent: false }, 'retry', 503, undefined],
    [
      '550 at RCPT',
      { code: 'EENVELOPE', responseCode: 550, permanent: true, command: 'RCPT TO' },
      'failed',
      550,
      undefined,
    ],
    [
      '554 at DATA',
      { code: 'EMESSAGE', responseCode: 554, permanent: true, command: 'DATA' },
      'failed',
      554,
      undefined,
    ],
    ['5xx without the permanent flag', { code: 'EMESSAGE', responseCode: 552 }, 'failed', 552, undefined],
    [
      '550 5.1.1 user unknown',
      {
        code: 'EENVELOPE',
        responseCode: 550,
        permanent: true,
        command: 'RCPT TO',
        response: '550 5.1.1 <x@example.com>: user unknown',
      },
      'failed',
      550,
      'disable',
    ],
    [
      '535 bad credentials',
      { code: 'EAUTH', responseCode: 535, permanent: true, command: 'AUTH PLAIN' },
      'retry',
      535,
      undefined,
    ],
    ['missing credentials', { code: 'EAUTH', command: 'API' }, 'retry', undefined, undefined],
    [
      '530 authentication required',
      { code: 'EENVELOPE', responseCode: 530, permanent: true, command: 'MAIL FROM' },
      'retry',
      530,
      undefined,
    ],
    [
      '553 sender refused',
      { code: 'EENVELOPE', responseCode: 553, permanent: true, command: 'MAIL FROM' },
      'retry',
      553,
      undefined,
    ],
    [
      '552 size at MAIL FROM',
      { code: 'EENVELOPE', responseCode: 552, permanent: true, command: 'MAIL FROM' },
      'failed',
      552,
      undefined,
    ],
    [
      'connection refused',
      { code: 'ESOCKET', originalCode: 'ECONNREFUSED', command: 'CONN' },
      'retry',
      undefined,
      undefined,
    ],
    [
      'greeting timeout',
      { code: 'ETIMEDOUT', timeoutType: 'GREETING_TIMEOUT', command: 'CONN' },
      'retry',
      undefined,
      undefined,
    ],
    ['closed connection', { code: 'ECONNECTION', command: 'CONN' }, 'retry', undefined, undefined],
    ['DNS failure', { code: 'EDNS', originalCode: 'ENOTFOUND' }, 'retry', undefined, undefined],
    ['TLS failure', { code: 'ETLS' }, 'retry', undefined, undefined],
    ['raw socket error', { code: 'ECONNRESET' }, 'retry', undefined, undefined],
    [
      'invalid recipient before sending',
      { code: 'EENVELOPE', command: 'API' },
      'failed',
      undefined,
      undefined,
    ],
    [
      'message too large before sending',
      { code: 'EMESSAGE', command: 'MAIL FROM' },
      'failed',
      undefined,
      undefined,
    ],
    ['unknown error', {}, 'retry', undefined, undefined],
  ])('%s', (_what, fields, result, statusCode, action) => {
    const outcome = classifySmtpError(smtpError(fields));
    expect(outcome.result).toBe(result);
    expect('statusCode' in outcome ? outcome.statusCode : undefined).toBe(statusCode);
    expect('action' in outcome ? outcome.action : undefined).toBe(action);
  });

  it('says what the operator must fix when authentication fails', () => {
    const outcome = classifySmtpError(
      smtpError(
        { code: 'EAUTH', responseCode: 535 },
        'Invalid login: 535 Authentication credentials invalid',
      ),
    );
    expect(outcome).toMatchObject({
      result: 'retry',
      error: expect.stringMatching(/authentication failed.*SMTP_URL/i),
    });
  });

  it('keeps the error code and server reply in the error text', () => {
    const outcome = classifySmtpError(
      smtpError({ code: 'EENVELOPE', responseCode: 550 }, 'Recipient command failed: 550 No such user'),
    );
    expect(outcome).toMatchObject({
      result: 'failed',
      error: 'EENVELOPE: Recipient command failed: 550 No such user',
    });
  });

  it('retries things that are not errors at all', () => {
    expect(classifySmtpError('boom')).toEqual({ result: 'retry', error: 'boom' });
    expect(classifySmtpError(undefined).result).toBe('retry');
  });
});
