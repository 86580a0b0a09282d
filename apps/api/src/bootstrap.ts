import type { HeraldConfig } from '@herald/config';
import { randomToken } from '@herald/core';
import {
  createLogger,
  HeraldMetrics,
  limitHeapGrowth,
  loadConfigOrExit,
  PinoNestLogger,
} from '@herald/runtime';
import { startWorkerApp } from '@herald/delivery';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { registerQueueDashboard } from './admin/queue-dashboard';
import { AppModule } from './app.module';
import { serveConsole } from './console/serve-console';
import { createOpenApiDocument } from './openapi/openapi-document';
import { ensureRedis, RedisUnavailableError } from './local-redis';
import { refuseControlCharacters } from './problem/control-characters';
import { clientErrorHandler, frameworkErrors, sendProblem } from './problem/http-errors';
import { useJsonBodyParser } from './problem/json-body';
import { problem } from './problem/problem';
import { ProblemFilter } from './problem/problem.filter';
import { createValidationPipe } from './problem/validation';

/** Routes that take form posts (Twilio callbacks, RFC 8058 one-click unsubscribe, the SNS API). */
const FORM_ROUTES = ['/v1/providers/twilio/', '/v1/subscriptions/unsubscribe', '/sns'];
/** The SNS API also answers at the root, where an SDK given Herald's origin alone posts. */
const isRoot = (url: string) => url === '/' || url.startsWith('/?');
/** RFC 8058 says one-click POSTs SHOULD be multipart/form-data; that route reads nothing from the body. */
const UNSUBSCRIBE_ROUTE = '/v1/subscriptions/unsubscribe';

/** Probes and scrapes come every few seconds: counted in the metrics, logged only at debug. */
const PROBE_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

export interface ApiAppOptions {
  /** The built console (default: dist/console under the package root). */
  consoleDir?: string;
}

/** Builds the HTTP application (not listening yet), with the workers inside when the role says so. */
export async function createApiApp(
  config: HeraldConfig,
  logger: Logger,
  options: ApiAppOptions = {},
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.maxBodyBytes,
    logger: false,
    trustProxy: true,
    // An SDK given an endpoint ending in /sns posts to /sns/; every route takes either spelling. Topic
    // names are up to 256 characters; a longer path segment names nothing (frameworkErrors: 404).
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 300 },
    frameworkErrors,
    clientErrorHandler,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, logger), adapter, {
    logger: new PinoNestLogger(logger),
    abortOnError: false,
    // SigV4 signs the body's bytes: the SNS API checks them as they came.
    rawBody: true,
  });
  const fastify = app.getHttpAdapter().getInstance();
  // Nest's own parsers now (it would add them at init), so that its JSON one can be replaced; with the
  // raw body kept, as rawBody above asks (the SNS API checks SigV4 over it).
  adapter.registerParserMiddleware(undefined, true);
  useJsonBodyParser(fastify);
  refuseControlCharacters(fastify);
  fastify.addHook('onRequest', async (req, reply) => {
    const type = req.headers['content-type'];
    if (!type || req.method === 'GET' || req.method === 'HEAD') return;
    const isJson = /^application\/([a-z.+-]*\+)?json\s*(;|$)/i.test(type);
    const isForm = /^application\/x-www-form-urlencoded\s*(;|$)/i.test(type);
    if (isJson || (isForm && (isRoot(req.url) || FORM_ROUTES.some((p) => req.url.startsWith(p))))) return;
    if (/^multipart\/form-data\s*(;|$)/i.test(type) && req.url.startsWith(UNSUBSCRIBE_ROUTE)) return;
    await sendProblem(reply, problem(415, 'Send the body as application/json.'));
  });
  // Only the one-click unsubscribe route gets this far with multipart: read (within bodyLimit) and drop it.
  fastify.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, (_req, _body, done) =>
    done(null, undefined),
  );
  // One line and one sample per request; the route pattern, never the raw URL, whose query may carry
  // tokens and whose ids would make a time series each.
  const metrics = app.get(HeraldMetrics);
  fastify.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unknown';
    metrics.httpRequest(req.method, route, reply.statusCode, reply.elapsedTime / 1000);
    const line = { method: req.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime) };
    if (PROBE_ROUTES.has(route)) logger.debug(line, 'request');
    else logger.info(line, 'request');
  });
  await registerQueueDashboard(app);
  await serveConsole(app, options.consoleDir);
  app.useGlobalFilters(new ProblemFilter(logger, config.maxBodyBytes));
  app.useGlobalPipes(createValidationPipe());
  SwaggerModule.setup('docs', app, () => createOpenApiDocument(app), {
    jsonDocumentUrl: 'docs/openapi.json',
  });
  // Exit 0 once drained (Nest would otherwise re-raise the signal, and 'exit' handlers would not run).
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  return app;
}

/** The bootstrap admin key: ADMIN_API_KEY, else one generated once and kept in <data>/admin-api-key. */
export function ensureAdminKey(config: HeraldConfig): { config: HeraldConfig; generated: string | null } {
  if (config.adminApiKey) return { config, generated: null };
  const file = join(config.dataDir, 'admin-api-key');
  if (existsSync(file))
    return { config: { ...config, adminApiKey: readFileSync(file, 'utf8').trim() }, generated: null };
  const key = `hk_${randomToken(32)}`;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return { config: { ...config, adminApiKey: key }, generated: key };
}

/** `npm start`: API and workers (per HERALD_ROLES), with a local Redis when needed. */
export async function runHerald(env = process.env): Promise<INestApplicationContext> {
  let config = loadConfigOrExit(env);
  limitHeapGrowth(config.heapGrowthPercent);
  const logger = createLogger(config.logLevel, config.logFormat);
  let redisChild: ChildProcess | null = null;
  try {
    redisChild = await ensureRedis(config, logger);
    if (!config.roles.has('api')) return await startWorkerApp(config, logger);
    const admin = ensureAdminKey(config);
    config = admin.config;
    const app = await createApiApp(config, logger);
    await app.listen({ port: config.port, host: config.host });
    if (admin.generated) {
      // Printed once, to the terminal only (never to the logs): the operator needs it to start.
      process.stdout.write(
        `\nHerald generated an admin API key (kept in ${join(config.dataDir, 'admin-api-key')}):\n\n  ${admin.generated}\n\nSet ADMIN_API_KEY to use your own.\n\n`,
      );
    }
    logger.info(
      {
        url: `http://${config.host}:${config.port}`,
        roles: [...config.roles],
        docs: `${config.publicBaseUrl}/docs`,
      },
      'herald is running',
    );
    if (redisChild) {
      const child = redisChild;
      process.once('exit', () => child.kill('SIGTERM'));
    }
    return app;
  } catch (err) {
    const message = err instanceof RedisUnavailableError || err instanceof Error ? err.message : String(err);
    logger.fatal({ err: message }, 'herald could not start');
    redisChild?.kill('SIGTERM');
    process.exit(1);
  }
}
