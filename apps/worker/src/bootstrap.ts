import type { HeraldConfig } from '@herald/config';
import { createLogger, InfraModule, loadConfigOrExit, PinoNestLogger } from '@herald/runtime';
import { Module, type DynamicModule, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Logger } from 'pino';
import { WorkerModule } from './worker.module';

@Module({})
export class WorkerAppModule {
  static forRoot(config: HeraldConfig, logger: Logger): DynamicModule {
    return { module: WorkerAppModule, imports: [InfraModule.forRoot(config, logger), WorkerModule] };
  }
}

/** Starts a worker-only process (HERALD_ROLES=worker): the workers with no HTTP server. */
export async function startWorkerApp(config: HeraldConfig, logger: Logger): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(WorkerAppModule.forRoot(config, logger), {
    logger: new PinoNestLogger(logger),
  });
  // Exit 0 once drained (Nest would otherwise re-raise the signal, and 'exit' handlers would not run).
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  await app.init();
  return app;
}

export async function runWorkerProcess(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel);
  try {
    await startWorkerApp(config, logger);
    logger.info('herald worker running');
  } catch (err) {
    logger.fatal({ err: err instanceof Error ? err.message : String(err) }, 'herald worker could not start');
    process.exit(1);
  }
}
