import { expect } from 'vitest';
import { SnsError } from './sns-error';

/** Test helper (not exported from the library): the SnsError `fn` throws. */
export function refusal(fn: () => unknown): SnsError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SnsError);
    return err as SnsError;
  }
  throw new Error('expected a refusal');
}
