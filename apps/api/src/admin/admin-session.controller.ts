import { Controller, Delete, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { hashApiKey } from '../auth/api-key.service';
import { CurrentPrincipal, Public, RequireScope } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { forbidden } from '../problem/problem';
import { AdminSessions, sessionCookie, sessionTokenOf } from './admin-sessions';
import { bearerKey } from '../auth/bearer-key';
import { ApiDoc } from '../openapi/api-doc';
import { mayUseQueueDashboard } from './queue-dashboard';

/** Opens and closes the browser session that admits the console's operator to /admin/queues. */
@ApiTags('operations')
@Controller('admin/session')
export class AdminSessionController {
  constructor(private readonly sessions: AdminSessions) {}

  @ApiDoc({
    summary: 'Open a queue-dashboard session for the console (a cookie; unlimited admin keys only)',
    status: 204,
  })
  @Post()
  @RequireScope('admin')
  @HttpCode(204)
  async open(
    @CurrentPrincipal() p: Principal,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    if (!mayUseQueueDashboard(p))
      throw forbidden('The queue dashboard needs an admin key that is not limited to topics.');
    const token = await this.sessions.open(hashApiKey(bearerKey(req) ?? ''));
    void reply.header('set-cookie', sessionCookie(token, req.protocol === 'https'));
  }

  @ApiDoc({ summary: "Close the caller's queue-dashboard session (clears its cookie)", status: 204 })
  @Delete()
  @Public()
  @HttpCode(204)
  async close(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    const token = sessionTokenOf(req.headers.cookie);
    if (token) await this.sessions.close(token);
    void reply.header('set-cookie', sessionCookie(null, req.protocol === 'https'));
  }
}
