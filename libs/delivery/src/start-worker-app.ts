import type { HeraldConfig } from '@herald/config';
import { InfraModule, PinoNestLogger } from '@herald/runtime';
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

/**
 * Starts the workers with no HTTP server (HERALD_ROLES=worker); `npm start` calls it too when the
 * api role is off.
 */
export async function startWorkerApp(config: HeraldConfig, logger: Logger): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(WorkerAppModule.forRoot(config, logger), {
    logger: new PinoNestLogger(logger),
  });
  // Exit 0 once drained (Nest would otherwise re-raise the signal, and 'exit' handlers would not run).
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  await app.init();
  return app;
}
