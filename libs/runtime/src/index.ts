export * from './tokens';
export * from './logger';
export * from './infra.module';
export * from './load-config-or-exit';
export * from './herald-metrics';
export * from './readiness';
export * from './operations-server';
export * from './secret-key';
