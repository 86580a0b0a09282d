import type { HeraldConfig } from '@herald/config';
import { HERALD_CONFIG, HeraldMetrics, LOGGER, type MetricsSnapshot } from '@herald/runtime';
import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import {
  workerThreadCount,
  type FromWorkerThread,
  type ToWorkerThread,
  type WorkerThreadData,
} from './worker-thread-protocol';

/** A scrape waits this long for a thread's counts, then goes on without them. */
const METRICS_TIMEOUT_MS = 1000;
/** A thread still draining after this long is stopped anyway (its jobs run again elsewhere). */
const STOP_TIMEOUT_MS = 60_000;

/** The built entry of a worker thread; the sources alone (a test run) have none. */
export function workerThreadEntry(): string | null {
  const entry = join(__dirname, 'worker-thread.js');
  return existsSync(entry) ? entry : null;
}

interface Thread {
  worker: Worker;
  exited: Promise<number>;
}

/**
 * The workers of a one-process Herald on threads of their own (HERALD_WORKER_THREADS), so that
 * deliveries and the catalog recorder do not share the API's event loop: each thread runs the worker
 * role as a worker-only process would (its own Redis connections, its own catalog connection), and the
 * API's `/metrics` adds up their counts. A thread that dies ends the process, as a crash of workers on
 * the API's loop would: a supervisor restarts it, and the jobs it held run again.
 */
@Injectable()
export class WorkerThreads implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private threads: Thread[] = [];
  private stopping = false;
  private nextRequest = 0;
  private readonly pending = new Map<number, (metrics: MetricsSnapshot) => void>();

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(LOGGER) private readonly log: Logger,
    private readonly metrics: HeraldMetrics,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.run(workerThreadEntry());
  }

  /** Starts the configured threads from `entry` (the built worker-thread.js; a test gives its own). */
  async run(entry: string | null): Promise<void> {
    const count = workerThreadCount(this.config);
    if (count === 0) return;
    if (!entry)
      throw new Error(
        'HERALD_WORKER_THREADS runs the built code (npm run build); set HERALD_WORKER_THREADS=0 to run ' +
          "the workers on the API's event loop.",
      );
    for (let index = 0; index < count; index++) this.threads.push(await this.start(entry, index));
    this.metrics.addSource(() => this.snapshots());
    this.log.debug({ threads: count }, 'worker threads running');
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.threads.map(async ({ worker, exited }) => {
        worker.postMessage({ type: 'stop' } satisfies ToWorkerThread);
        const timer = setTimeout(() => {
          this.log.warn('a worker thread did not drain in time: stopping it');
          void worker.terminate();
        }, STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }),
    );
    this.threads = [];
  }

  private start(entry: string, index: number): Promise<Thread> {
    const data: WorkerThreadData = { config: this.config, index };
    const worker = new Worker(entry, { workerData: data });
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    return new Promise<Thread>((resolve, reject) => {
      let ready = false;
      worker.on('message', (message: FromWorkerThread) => {
        if (message.type === 'ready') {
          ready = true;
          resolve({ worker, exited });
        } else if (message.type === 'metrics') {
          this.pending.get(message.id)?.(message.metrics);
          this.pending.delete(message.id);
        }
      });
      worker.on('error', (err) => {
        if (!ready) reject(new Error(`A worker thread could not start: ${err.message}`));
        else this.died(index, err.message);
      });
      void exited.then((code) => {
        if (!ready) reject(new Error(`A worker thread ended while starting (exit code ${code}).`));
        else if (!this.stopping) this.died(index, `exit code ${code}`);
      });
    });
  }

  /** Deliveries stopped in this process: end it, so that a supervisor starts a whole Herald again. */
  private died(index: number, why: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.log.fatal({ thread: `worker-${index}`, err: why }, 'a worker thread stopped: Herald exits');
    process.exit(1);
  }

  private snapshots(): Promise<MetricsSnapshot> {
    return Promise.all(
      this.threads.map(
        ({ worker }) =>
          new Promise<MetricsSnapshot>((resolve) => {
            const id = this.nextRequest++;
            const timer = setTimeout(() => {
              this.pending.delete(id);
              resolve([]);
            }, METRICS_TIMEOUT_MS);
            this.pending.set(id, (metrics) => {
              clearTimeout(timer);
              resolve(metrics);
            });
            worker.postMessage({ type: 'metrics', id } satisfies ToWorkerThread);
          }),
      ),
    ).then((all) => all.flat());
  }
}
