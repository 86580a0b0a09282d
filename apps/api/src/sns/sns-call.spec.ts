import { SnsError } from '@herald/sns';
import { describe, expect, it } from 'vitest';
import {
  badRequest,
  conflict,
  forbidden,
  notFound,
  ProblemException,
  validationFailed,
} from '../problem/problem';
import { snsErrorFrom } from './sns-call';

describe('snsErrorFrom', () => {
  it.each<[string, ProblemException, { code: string; status: number; message: RegExp }]>([
    [
      'a field error, named as SNS names the parameter',
      validationFailed([
        {
          field: 'filterPolicy.price[0]',
          message: 'numeric range lower bound 10 is greater than upper bound 5',
        },
      ]),
      {
        code: 'InvalidParameter',
        status: 400,
        message: /^Invalid parameter: FilterPolicy Reason: FilterPolicy\.price\[0\] numeric range/,
      },
    ],
    [
      'several field errors',
      validationFailed([
        { field: 'attributes.a', message: 'must be a string' },
        { field: 'subject', message: 'must not contain line breaks' },
      ]),
      {
        code: 'InvalidParameter',
        status: 400,
        message: /MessageAttributes Reason: MessageAttributes\.a must be a string; Subject must not/,
      },
    ],
    [
      'a 400 without fields',
      badRequest('SMS is disabled: set TWILIO_ACCOUNT_SID'),
      { code: 'InvalidParameter', status: 400, message: /SMS is disabled/ },
    ],
    [
      'a 403',
      forbidden('Only an admin API key may pass skipConfirmation.'),
      { code: 'AuthorizationError', status: 403, message: /admin/ },
    ],
    ['a 404', notFound('Topic "x"'), { code: 'NotFound', status: 404, message: /Topic "x" does not exist/ }],
    [
      'a 409',
      conflict('Topic "x" exists with other attributes.'),
      { code: 'InvalidParameter', status: 400, message: /exists/ },
    ],
  ])('maps %s', (_, problem, expected) => {
    const err = snsErrorFrom(problem);
    expect(err).toBeInstanceOf(SnsError);
    expect(err).toMatchObject({ code: expected.code, status: expected.status });
    expect((err as Error).message).toMatch(expected.message);
  });

  it('passes other errors and server-side problems on untouched', () => {
    const boom = new Error('boom');
    expect(snsErrorFrom(boom)).toBe(boom);
    const unavailable = new ProblemException(503, 'Redis is down');
    expect(snsErrorFrom(unavailable)).toBe(unavailable);
  });
});
