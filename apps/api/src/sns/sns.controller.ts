import { LOGGER } from '@herald/runtime';
import {
  actionResponse,
  errorResponse,
  internalError,
  invalidParameter,
  QueryParams,
  SnsError,
  SnsKeyring,
  type Xml,
} from '@herald/sns';
import { Controller, Get, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Public } from '../auth/auth.decorators';
import { problem } from '../problem/problem';
import { SnsAuthenticator } from './sns-authenticator';
import { assertSnsScope, type SnsAction, type SnsCall } from './sns-call';
import { SnsPublishActions } from './sns-publish-actions';
import { SnsSubscriptionActions } from './sns-subscription-actions';
import { SnsTopicActions } from './sns-topic-actions';

const API_VERSION = '2010-03-31';
const CERTIFICATE_FILE = /^SimpleNotificationService-([0-9a-f]{32})\.pem$/;

type RawRequest = FastifyRequest & { rawBody?: Buffer };

/**
 * The SNS wire API (AWS Query over form posts, SigV4, XML answers) at `/sns` and at `/` when a form
 * names an Action, plus what SNS receivers fetch: SubscribeURL, UnsubscribeURL and the certificates.
 * Authenticated by SigV4 (or a token), not by a bearer key.
 */
@ApiExcludeController()
@Controller()
@Public()
export class SnsController {
  private readonly actions: Record<string, SnsAction>;

  constructor(
    private readonly auth: SnsAuthenticator,
    private readonly subscriptions: SnsSubscriptionActions,
    private readonly keyring: SnsKeyring,
    @Inject(LOGGER) private readonly log: Logger,
    topics: SnsTopicActions,
    publish: SnsPublishActions,
  ) {
    this.actions = { ...topics.actions(), ...subscriptions.actions(), ...publish.actions() };
  }

  @Post('sns')
  async api(@Req() req: RawRequest, @Res() reply: FastifyReply) {
    return this.answer(reply, () => this.call(req));
  }

  /** The SDK posts to its endpoint's path: `/` when the endpoint is Herald's origin alone. */
  @Post()
  async root(@Req() req: RawRequest, @Res() reply: FastifyReply) {
    if (!/(^|&)Action=/.test(req.rawBody?.toString('utf8') ?? ''))
      return reply
        .status(404)
        .header('content-type', 'application/problem+json; charset=utf-8')
        .send(JSON.stringify(problem(404, 'No such route.')));
    return this.answer(reply, () => this.call(req));
  }

  /** SubscribeURL and UnsubscribeURL: plain GETs, authenticated by the token they carry. */
  @Get('sns')
  async link(@Req() req: RawRequest, @Res() reply: FastifyReply) {
    return this.answer(reply, async () => {
      const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
      const params = QueryParams.parse(query);
      const action = params.required('Action');
      if (action === 'ConfirmSubscription') {
        return {
          action,
          result: await this.actions.ConfirmSubscription.run({ action, params, principal: null }),
        };
      }
      if (action === 'Unsubscribe') {
        await this.subscriptions.unsubscribeByToken(
          params.required('SubscriptionArn'),
          params.required('Token'),
        );
        return { action, result: null };
      }
      throw new SnsError('InvalidAction', 400, `${action} is not served by GET: POST a signed request`);
    });
  }

  @Get('sns/:file')
  async certificate(@Param('file') file: string, @Res() reply: FastifyReply) {
    const id = CERTIFICATE_FILE.exec(file)?.[1];
    const pem = id ? await this.keyring.certificate(id) : null;
    if (!pem)
      return reply
        .status(404)
        .header('content-type', 'application/problem+json; charset=utf-8')
        .send(JSON.stringify(problem(404, 'No such certificate.')));
    return reply
      .status(200)
      .header('content-type', 'application/x-x509-ca-cert')
      .header('cache-control', 'public, max-age=86400')
      .send(pem);
  }

  private async call(req: RawRequest): Promise<{ action: string; result: Xml[] | null }> {
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(type))
      throw invalidParameter('Content-Type', 'send the AWS Query form as application/x-www-form-urlencoded');
    const body = req.rawBody ?? Buffer.alloc(0);
    const params = QueryParams.parse(body.toString('utf8'));
    const action = params.required('Action');
    const version = params.string('Version');
    if (version !== undefined && version !== API_VERSION)
      throw invalidParameter('Version', `Herald speaks SNS API version ${API_VERSION}`);
    const handler = this.actions[action];
    if (!handler) throw new SnsError('InvalidAction', 400, `Herald does not support the action ${action}.`);
    const signed = { method: req.method, url: req.url, headers: req.headers, body };
    // ConfirmSubscription takes a token instead; a signature it carries is still checked.
    const anonymous = handler.scope === null && req.headers.authorization === undefined;
    const principal = anonymous ? null : await this.auth.principal(signed);
    const call: SnsCall = { action, params, principal };
    if (handler.scope !== null) assertSnsScope(call, handler.scope, '*');
    return { action, result: await handler.run(call) };
  }

  private async answer(
    reply: FastifyReply,
    run: () => Promise<{ action: string; result: Xml[] | null }>,
  ): Promise<FastifyReply> {
    const requestId = randomUUID();
    let status = 200;
    let body: string;
    try {
      const { action, result } = await run();
      body = actionResponse(action, requestId, result);
    } catch (err) {
      let error: SnsError;
      if (err instanceof SnsError) {
        error = err;
      } else {
        this.log.error({ err, requestId }, 'SNS request failed');
        error = internalError();
      }
      status = error.status;
      body = errorResponse(error, requestId);
    }
    return reply
      .status(status)
      .header('content-type', 'text/xml; charset=utf-8')
      .header('x-amzn-requestid', requestId)
      .send(body);
  }
}
