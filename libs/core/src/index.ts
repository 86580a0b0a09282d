export * from './types';
export * from './ids';
export * from './signing';
export * from './outcome';
export * from './backoff';
export * from './delivery-policy';
export * from './envelope';
