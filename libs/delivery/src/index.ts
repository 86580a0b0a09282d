export * from './worker.module';
export * from './worker.service';
export * from './fanout.service';
export * from './delivery.service';
export * from './catalog-cache';
export * from './channel-registry';
export * from './links';
export * from './start-worker-app';
