import { PublishNotReplicatedError, PublishUnavailableError } from '@herald/queue';
import { describe, expect, it } from 'vitest';
import { isUnavailable } from './problem.filter';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
const named = (message: string, name: string) => Object.assign(new Error(message), { name });

describe('isUnavailable', () => {
  it.each<[string, unknown]>([
    ['a PostgreSQL statement left unanswered (a hung server)', new Error('Query read timeout')],
    ['no pooled connection in time', new Error('timeout exceeded when trying to connect')],
    ['a connection that timed out', new Error('Connection terminated due to connection timeout')],
    ['a server that ended the connection', new Error('Connection terminated unexpectedly')],
    [
      'a backend terminated by a shutdown',
      withCode('terminating connection due to administrator command', '57P01'),
    ],
    ['a server starting up', withCode('the database system is starting up', '57P03')],
    [
      'a statement the server cancelled at its statement_timeout',
      withCode('canceling statement due to statement timeout', '57014'),
    ],
    ['a refused connection', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a Redis command that timed out', new Error('Command timed out')],
    [
      'ioredis giving up on a command',
      named('Reached the max retries per request limit', 'MaxRetriesPerRequestError'),
    ],
  ])('%s is a 503', (_, err) => {
    expect(isUnavailable(err)).toBe(true);
  });

  it.each<[string, unknown]>([
    ['a programming error', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a constraint violation', withCode('duplicate key value violates unique constraint', '23505')],
    ['a thrown string', 'Query read timeout'],
  ])('%s is not', (_, err) => {
    expect(isUnavailable(err)).toBe(false);
  });
});

describe('isUnavailable (503, not 500)', () => {
  it("takes every publish refusal for a dependency's, including a commit no replica confirmed", () => {
    expect(isUnavailable(new PublishUnavailableError('Redis is unreachable'))).toBe(true);
    expect(isUnavailable(new PublishNotReplicatedError(['msg_1'], 1, 500))).toBe(true);
  });

  it('leaves a programming error a 500', () => {
    expect(isUnavailable(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(false);
    expect(isUnavailable('not an error')).toBe(false);
  });
});
