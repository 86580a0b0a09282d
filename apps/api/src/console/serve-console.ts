import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SAME_ORIGIN_CSP } from '../admin/queue-dashboard';
import { sendProblem } from '../problem/http-errors';
import { problem } from '../problem/problem';

export const CONSOLE_PATH = '/console';

/**
 * Where `npm run build` puts the console: `dist/console` under the package root, found upwards from
 * this file so that the same code serves it from the sources (tests) and from `dist/` (npm start, the
 * Docker image).
 */
export function defaultConsoleDir(from = __dirname): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'dist', 'console');
}

/** Serves the built console at /console/ from the API's own port; nothing in it loads from elsewhere. */
export async function serveConsole(app: NestFastifyApplication, dir = defaultConsoleDir()): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  if (!existsSync(join(dir, 'index.html'))) {
    const notBuilt = async (_req: unknown, reply: Parameters<typeof sendProblem>[0]) =>
      sendProblem(reply, problem(404, 'The console is not built: run npm run build.'));
    fastify.get(CONSOLE_PATH, notBuilt);
    fastify.get(`${CONSOLE_PATH}/*`, notBuilt);
    return;
  }
  // The router ignores trailing slashes (the SNS API needs it), so /console/ also lands here: only
  // the bare path is redirected, the other is the app itself.
  fastify.get(CONSOLE_PATH, async (req, reply) => {
    const path = req.url.split('?')[0];
    if (path === CONSOLE_PATH) return reply.redirect(`${CONSOLE_PATH}/`, 302);
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', SAME_ORIGIN_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(readFileSync(join(dir, 'index.html')));
  });
  await fastify.register(fastifyStatic, {
    root: dir,
    prefix: `${CONSOLE_PATH}/`,
    decorateReply: false,
    wildcard: true,
    setHeaders: (reply) => {
      void reply
        .header('content-security-policy', SAME_ORIGIN_CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer');
    },
  });
}
