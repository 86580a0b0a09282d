export * from './tokens';
export * from './logger';
export * from './infra.module';
