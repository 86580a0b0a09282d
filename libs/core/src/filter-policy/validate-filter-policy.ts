import type { FieldError, FilterPolicyScope } from '../types';
import { parseFilterPolicy } from './parse-filter-policy';

/** Every problem with a policy for the given scope (the first 20), each with its field path; empty when valid. */
export function validateFilterPolicy(policy: unknown, scope: FilterPolicyScope): FieldError[] {
  if (scope !== 'attributes' && scope !== 'body') {
    return [{ field: 'filterPolicyScope', message: 'must be "attributes" or "body"' }];
  }
  return parseFilterPolicy(policy, scope).errors;
}
