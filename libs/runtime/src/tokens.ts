/** Injection tokens for values that are not classes. */
export const HERALD_CONFIG = Symbol('HERALD_CONFIG');
export const LOGGER = Symbol('LOGGER');
export const REDIS = Symbol('REDIS');
/**
 * A second shared connection for Herald's plain commands (payload reads, outcome records without
 * jobs), on which BullMQ never defines its scripts: ioredis copies every script a connection defines
 * onto each pipeline it makes (each auto-pipelined batch, each MULTI), and BullMQ defines 65.
 */
export const REDIS_PLAIN = Symbol('REDIS_PLAIN');
/** True in a worker thread beside the API's (HERALD_WORKER_THREADS), false in a process's main thread. */
export const WORKER_THREAD = Symbol('WORKER_THREAD');
