import type { HeraldConfig } from '@herald/config';
import { randomToken } from '@herald/core';
import { createLogger, loadConfigOrExit, PinoNestLogger } from '@herald/runtime';
import { startWorkerApp } from '@herald/delivery';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { AppModule } from './app.module';
import { completeOpenApiDocument } from './openapi/complete-document';
import { ensureRedis, RedisUnavailableError } from './local-redis';
import { refuseControlCharacters } from './problem/control-characters';
import { clientErrorHandler, frameworkErrors, sendProblem } from './problem/http-errors';
import { useJsonBodyParser } from './problem/json-body';
import { problem } from './problem/problem';
import { ProblemFilter } from './problem/problem.filter';
import { createValidationPipe } from './problem/validation';

/** Routes that take form posts (Twilio callbacks, RFC 8058 one-click unsubscribe). */
const FORM_ROUTES = ['/v1/providers/twilio/', '/v1/subscriptions/unsubscribe'];
/** RFC 8058 says one-click POSTs SHOULD be multipart/form-data; that route reads nothing from the body. */
const UNSUBSCRIBE_ROUTE = '/v1/subscriptions/unsubscribe';

/** Builds the HTTP application (not listening yet), with the workers inside when the role says so. */
export async function createApiApp(config: HeraldConfig, logger: Logger): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.maxBodyBytes,
    logger: false,
    trustProxy: true,
    // Topic names are up to 256 characters; a longer path segment names nothing (frameworkErrors: 404).
    routerOptions: { maxParamLength: 300 },
    frameworkErrors,
    clientErrorHandler,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, logger), adapter, {
    logger: new PinoNestLogger(logger),
    abortOnError: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  // Nest's own parsers now (it would add them at init), so that its JSON one can be replaced.
  adapter.registerParserMiddleware();
  useJsonBodyParser(fastify);
  refuseControlCharacters(fastify);
  fastify.addHook('onRequest', async (req, reply) => {
    const type = req.headers['content-type'];
    if (!type || req.method === 'GET' || req.method === 'HEAD') return;
    const isJson = /^application\/([a-z.+-]*\+)?json\s*(;|$)/i.test(type);
    const isForm = /^application\/x-www-form-urlencoded\s*(;|$)/i.test(type);
    if (isJson || (isForm && FORM_ROUTES.some((p) => req.url.startsWith(p)))) return;
    if (/^multipart\/form-data\s*(;|$)/i.test(type) && req.url.startsWith(UNSUBSCRIBE_ROUTE)) return;
    await sendProblem(reply, problem(415, 'Send the body as application/json.'));
  });
  // Only the one-click unsubscribe route gets this far with multipart: read (within bodyLimit) and drop it.
  fastify.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, (_req, _body, done) =>
    done(null, undefined),
  );
  // One line per request; the route pattern, never the raw URL, whose query may carry tokens.
  fastify.addHook('onResponse', async (req, reply) => {
    logger.info(
      {
        method: req.method,
        route: req.routeOptions.url ?? 'unknown',
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });
  app.useGlobalFilters(new ProblemFilter(logger, config.maxBodyBytes));
  app.useGlobalPipes(createValidationPipe());
  const doc = new DocumentBuilder()
    .setTitle('Herald')
    .setDescription(
      'Self-hosted pub/sub notification fan-out: topics, subscriptions, publish, deliveries, dead letters.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'API key (hk_…)' })
    .build();
  SwaggerModule.setup('docs', app, () => completeOpenApiDocument(SwaggerModule.createDocument(app, doc)), {
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
  const logger = createLogger(config.logLevel);
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
