import { startWorkerApp } from '@herald/delivery';
import { createLogger, limitHeapGrowth, loadConfigOrExit } from '@herald/runtime';

/** `npm run start:worker`: a worker-only process. */
export async function runWorkerProcess(): Promise<void> {
  const config = loadConfigOrExit();
  limitHeapGrowth(config.heapGrowthPercent);
  const logger = createLogger(config.logLevel, config.logFormat);
  try {
    await startWorkerApp(config, logger);
    logger.info('herald worker running');
  } catch (err) {
    logger.fatal({ err: err instanceof Error ? err.message : String(err) }, 'herald worker could not start');
    process.exit(1);
  }
}
