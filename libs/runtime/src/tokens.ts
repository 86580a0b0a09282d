/** Injection tokens for values that are not classes. */
export const HERALD_CONFIG = Symbol('HERALD_CONFIG');
export const LOGGER = Symbol('LOGGER');
export const REDIS = Symbol('REDIS');
/** True in a worker thread beside the API's (HERALD_WORKER_THREADS), false in a process's main thread. */
export const WORKER_THREAD = Symbol('WORKER_THREAD');
