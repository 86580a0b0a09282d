import { ConfigError, loadConfig, type HeraldConfig } from '@herald/config';
import { createLogger, InfraModule, PinoNestLogger } from '@herald/runtime';
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
  let config: HeraldConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  try {
    await startWorkerApp(config, logger);
    logger.info('herald worker running');
  } catch (err) {
    logger.fatal({ err: err instanceof Error ? err.message : String(err) }, 'herald worker could not start');
    process.exit(1);
  }
}
