import { PublishNotReplicatedError, PublishUnavailableError } from '@herald/queue';
import { describe, expect, it } from 'vitest';
import { isUnavailable } from './problem.filter';

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
