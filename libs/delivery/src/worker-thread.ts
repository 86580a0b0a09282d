// A worker thread's entry (see WorkerThreads): the worker role of a process whose main thread runs the
// API. It opens its own Redis connections and its own connection to the process's catalog.
import 'reflect-metadata';
import type { HeraldConfig } from '@herald/config';
import { describeError } from '@herald/core';
import { createLogger, HeraldMetrics } from '@herald/runtime';
import { parentPort, workerData } from 'node:worker_threads';
import { startWorkerApp } from './start-worker-app';
import type { FromWorkerThread, ToWorkerThread, WorkerThreadData } from './worker-thread-protocol';

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('worker-thread.js runs as a worker thread of a Herald process');
  const data = workerData as WorkerThreadData;
  const send = (message: FromWorkerThread) => port.postMessage(message);
  // A Buffer arrives as a plain Uint8Array.
  const secretKey = data.config.secretKey ? Buffer.from(data.config.secretKey) : null;
  const config: HeraldConfig = { ...data.config, secretKey, roles: new Set(['worker']) };
  const logger = createLogger(config.logLevel, config.logFormat).child({ thread: `worker-${data.index}` });
  // A start-up error ends the thread: the main thread gets it as the worker's 'error' event.
  const app = await startWorkerApp(config, logger, { workerThread: true });
  const metrics = app.get(HeraldMetrics);
  let stopping = false;
  port.on('message', (message: ToWorkerThread) => {
    if (message.type === 'metrics') {
      void metrics
        .snapshot()
        .then((snapshot) => send({ type: 'metrics', id: message.id, metrics: snapshot }));
    } else if (message.type === 'stop' && !stopping) {
      stopping = true;
      void app.close().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err: describeError(err) }, 'worker thread did not drain');
          process.exit(1);
        },
      );
    }
  });
  send({ type: 'ready' });
}

void main();
