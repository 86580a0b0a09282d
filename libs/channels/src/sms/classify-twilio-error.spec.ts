import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { classifyTwilioError } from './classify-twilio-error';

/** The SDK's own exception, built from an answer as the SDK builds it. */
function restException(status: number, code?: number, message = 'Twilio says no'): Error {
  return new twilio.RestException({
    statusCode: status,
    body: JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }),
  });
}

function networkError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('classifyTwilioError', () => {
  it.each([
    // status, code, result, action
    [429, 20429, 'retry', undefined],
    [429, undefined, 'retry', undefined],
    [400, 20429, 'retry', undefined],
    [500, undefined, 'retry', undefined],
    [503, 20503, 'retry', undefined],
    [401, 20003, 'retry', undefined],
    [401, undefined, 'retry', undefined],
    [400, 21212, 'retry', undefined],
    [400, 21606, 'retry', undefined],
    [400, 21211, 'failed', undefined],
    [400, 21614, 'failed', undefined],
    [400, 21612, 'failed', undefined],
    [400, 21408, 'failed', undefined],
    [400, 21604, 'failed', undefined],
    [400, 21617, 'failed', undefined],
    [400, 21610, 'failed', 'unsubscribe'],
    [400, 21602, 'failed', undefined],
    [403, 20008, 'failed', undefined],
    [404, 20404, 'failed', undefined],
  ] as const)('HTTP %i with code %s → %s (action %s)', (status, code, result, action) => {
    const outcome = classifyTwilioError(restException(status, code));
    expect(outcome.result).toBe(result);
    expect(outcome.statusCode).toBe(status);
    expect(outcome.result === 'failed' ? outcome.action : undefined).toBe(action);
    if (outcome.result !== 'delivered') expect(outcome.error).toContain(`Twilio answered ${status}`);
  });

  it('honours Retry-After on throttling and on 5xx', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(classifyTwilioError(restException(429, 20429), '3', now)).toMatchObject({
      result: 'retry',
      retryAfterMs: 3000,
    });
    expect(classifyTwilioError(restException(503), 'Wed, 01 Jan 2025 00:00:10 GMT', now)).toMatchObject({
      result: 'retry',
      retryAfterMs: 10_000,
    });
    expect(classifyTwilioError(restException(429, 20429), null, now)).not.toHaveProperty('retryAfterMs');
  });

  it('tells the operator what to fix when the credentials are wrong', () => {
    const outcome = classifyTwilioError(restException(401, 20003, 'Authenticate'));
    expect(outcome).toMatchObject({ result: 'retry', statusCode: 401 });
    expect(outcome.result === 'retry' && outcome.error).toMatch(/TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN/);
  });

  it('keeps Twilio’s message for codes it does not know', () => {
    const outcome = classifyTwilioError(restException(400, 21999, 'Something   odd\nhappened'));
    expect(outcome).toEqual({
      result: 'failed',
      statusCode: 400,
      error: 'Twilio answered 400 (code 21999): Something odd happened',
    });
  });

  it('reads the RFC 9457 exceptions of newer Twilio APIs too', () => {
    const err = Object.assign(new Error('Too many'), {
      type: 'about:blank',
      title: 'Too many',
      status: 429,
      code: 20429,
    });
    expect(classifyTwilioError(err)).toMatchObject({ result: 'retry', statusCode: 429 });
  });

  it.each([
    ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9'],
    ['ECONNRESET', 'socket hang up'],
    ['ECONNABORTED', 'timeout of 15000ms exceeded'],
    ['ENOTFOUND', 'getaddrinfo ENOTFOUND api.twilio.com'],
  ])('retries the network error %s', (code, message) => {
    const outcome = classifyTwilioError(networkError(code, message));
    expect(outcome.result).toBe('retry');
    expect(outcome.result === 'retry' && outcome.error).toContain('Twilio API unreachable');
    expect(outcome.statusCode).toBeUndefined();
  });

  it('retries anything it cannot recognise rather than losing the delivery', () => {
    expect(classifyTwilioError(new Error('boom')).result).toBe('retry');
    expect(classifyTwilioError('strange').result).toBe('retry');
  });
});
