export * from './tokens';
export * from './logger';
export * from './infra.module';
export * from './load-config-or-exit';
export * from './redis-durability';
