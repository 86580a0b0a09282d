export { bodyForFiltering } from './body-for-filtering';
export { compileFilterPolicy } from './compile-filter-policy';
export type { CompiledFilterPolicy, FilterInput, FilterPolicy } from './compile-filter-policy';
export { FilterPolicyError } from './filter-policy-error';
export { FILTER_POLICY_LIMITS } from './filter-policy-limits';
export { validateFilterPolicy } from './validate-filter-policy';
