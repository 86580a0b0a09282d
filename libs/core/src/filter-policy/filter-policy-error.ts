import type { FieldError } from '../types';

/** A filter policy that cannot be compiled; `errors` says where and why, for a 400 problem+json answer. */
export class FilterPolicyError extends Error {
  readonly errors: FieldError[];

  constructor(errors: FieldError[]) {
    const first = errors[0];
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
    super(first ? `invalid filter policy: ${first.field} ${first.message}${more}` : 'invalid filter policy');
    this.name = 'FilterPolicyError';
    this.errors = errors;
  }
}
