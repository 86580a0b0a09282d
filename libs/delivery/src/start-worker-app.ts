import type { HeraldConfig } from '@herald/config';
import { InfraModule, PinoNestLogger } from '@herald/runtime';
import { Module, type DynamicModule, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Logger } from 'pino';
import { WorkerModule } from './worker.module';

export interface WorkerAppOptions {
  /** A worker thread beside the API's (see WorkerThreads): no signal handlers, no probes of its own. */
  workerThread?: boolean;
}

@Module({})
export class WorkerAppModule {
  static forRoot(config: HeraldConfig, logger: Logger, options: WorkerAppOptions = {}): DynamicModule {
    return {
      module: WorkerAppModule,
      imports: [InfraModule.forRoot(config, logger, { workerThread: options.workerThread }), WorkerModule],
    };
  }
}

/**
 * Starts the workers with no HTTP server (HERALD_ROLES=worker); `npm start` calls it too when the
 * api role is off, and each worker thread beside the API's runs one.
 */
export async function startWorkerApp(
  config: HeraldConfig,
  logger: Logger,
  options: WorkerAppOptions = {},
): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(WorkerAppModule.forRoot(config, logger, options), {
    logger: new PinoNestLogger(logger),
  });
  // Exit 0 once drained (Nest would otherwise re-raise the signal, and 'exit' handlers would not run).
  // A thread gets no signals: the main thread tells it to stop.
  if (!options.workerThread) app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  await app.init();
  return app;
}
