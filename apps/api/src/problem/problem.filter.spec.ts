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
    ['a refused connection', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a Redis command that timed out', new Error('Command timed out')],
    ['a publish Redis did not accept', named('not accepted', 'PublishUnavailableError')],
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
