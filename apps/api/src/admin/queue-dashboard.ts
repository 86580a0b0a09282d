import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter as BullBoardFastifyAdapter } from '@bull-board/fastify';
import { Shards } from '@herald/queue';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { ApiKeyService, hashApiKey } from '../auth/api-key.service';
import { bearerKey } from '../auth/bearer-key';
import { isAdmin, type Principal } from '../auth/principal';
import { sendProblem } from '../problem/http-errors';
import { problem } from '../problem/problem';
import { AdminSessions, sessionTokenOf } from './admin-sessions';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

const FONT_LINK = /<link[^>]*fonts\.googleapis\.com[^>]*>/g;

/** Bull Board's page asks a font server for its fonts; this keeps every request on Herald's origin. */
export const SAME_ORIGIN_CSP =
  "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

/** Only an admin key limited to no topics may see every queue (they hold every topic's jobs). */
export const mayUseQueueDashboard = (p: Principal): boolean => isAdmin(p) && p.topics === null;

/**
 * Bull Board over all of Herald's queues at /admin/queues, admitted with an unlimited admin key: a
 * Bearer header, or the console's session cookie (POST /admin/session). 401 without either, 403 for a
 * key that is not an unlimited admin key.
 */
export async function registerQueueDashboard(app: NestFastifyApplication): Promise<void> {
  const shards = app.get(Shards);
  const keys = app.get(ApiKeyService);
  const sessions = app.get(AdminSessions);
  const board = new BullBoardFastifyAdapter();
  board.setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({
    // With several shards each queue appears once per shard, named after it.
    queues: shards.all.flatMap((shard) =>
      shard.queues
        .allQueues()
        .map(
          (q) =>
            new BullMQAdapter(q, shards.count > 1 ? { displayName: `${q.name} (shard ${shard.index})` } : {}),
        ),
    ),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'Herald queues' } },
  });

  const principalOf = async (req: FastifyRequest): Promise<Principal | null> => {
    const key = bearerKey(req);
    if (key) return keys.resolveHash(hashApiKey(key));
    const token = sessionTokenOf(req.headers.cookie);
    const keyHash = token ? await sessions.keyHashOf(token) : null;
    return keyHash ? keys.resolveHash(keyHash) : null;
  };

  const fastify = app.getHttpAdapter().getInstance();
  await fastify.register(
    async (scope) => {
      scope.addHook('onRequest', async (req, reply) => {
        const principal = await principalOf(req);
        if (!principal) {
          return sendProblem(
            reply,
            problem(401, 'Sign in to the console with an admin key, or send one as a Bearer key.'),
            { 'www-authenticate': 'Bearer' },
          );
        }
        if (!mayUseQueueDashboard(principal)) {
          return sendProblem(
            reply,
            problem(403, 'The queue dashboard needs an admin key that is not limited to topics.'),
          );
        }
      });
      scope.addHook('onSend', async (_req, reply, payload) => {
        void reply.header('content-security-policy', SAME_ORIGIN_CSP).header('cache-control', 'no-store');
        // Its page links a font server's stylesheet: dropped, so the browser asks nothing of elsewhere.
        return typeof payload === 'string' ? payload.replace(FONT_LINK, '') : payload;
      });
      await scope.register(board.registerPlugin());
    },
    { prefix: QUEUE_DASHBOARD_PATH },
  );
}
