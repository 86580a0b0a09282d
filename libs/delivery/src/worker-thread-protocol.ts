import { Catalog } from '@herald/catalog';
import type { HeraldConfig } from '@herald/config';
import type { MetricsSnapshot } from '@herald/runtime';

/** What the main thread sends a worker thread. */
export type ToWorkerThread = { type: 'metrics'; id: number } | { type: 'stop' };

/** What a worker thread sends the main thread. */
export type FromWorkerThread = { type: 'ready' } | { type: 'metrics'; id: number; metrics: MetricsSnapshot };

/** What a worker thread is started with. */
export interface WorkerThreadData {
  /** The process's configuration, as its main thread resolved it (a local Redis's URL included). */
  config: HeraldConfig;
  index: number;
}

/**
 * How many worker threads this process runs beside the API's event loop: HERALD_WORKER_THREADS when
 * one process has both roles, else none. A `memory://` catalog is one connection's: none either.
 */
export function workerThreadCount(config: HeraldConfig): number {
  if (!config.roles.has('api') || !config.roles.has('worker')) return 0;
  const location = Catalog.locate(config.databaseUrl);
  if (location.driver === 'sqlite' && location.folder === null) return 0;
  return config.workerThreads;
}
