/** Injection tokens for values that are not classes. */
export const HERALD_CONFIG = Symbol('HERALD_CONFIG');
export const LOGGER = Symbol('LOGGER');
export const REDIS = Symbol('REDIS');
