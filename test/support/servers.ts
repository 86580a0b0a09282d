/** Private redis-server and PostgreSQL for the tests; one implementation, shared with the benchmarks. */
export {
  freePort,
  postgresInstalled,
  startPostgres,
  startRedis,
  type ControllableServer,
  type RunningServer,
} from './local-servers.mjs';
