import { deliveryParts } from '@herald/core';
import { Catalog } from '@herald/catalog';
import { parseInboundSms, parseStatusCallback, twimlMessage, verifyTwilioSignature } from '@herald/channels';
import type { HeraldConfig } from '@herald/config';
import { ChangeNotifier, Shards } from '@herald/queue';
import { HERALD_CONFIG, LOGGER } from '@herald/runtime';
import { applyDecorators, Body, Controller, Headers, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiHeader, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Public } from '../auth/auth.decorators';
import { badRequest, forbidden, ProblemException } from '../problem/problem';
import { ApiDoc } from '../openapi/api-doc';
import { ReceivedSchema } from '../openapi/schemas';

const HELP_TEXT = 'Herald notifications. Reply STOP to unsubscribe, START to resubscribe.';

/** Form fields as strings (a repeated field keeps its last value). */
function formParams(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof body !== 'object' || body === null) return out;
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    const value: unknown = Array.isArray(v) ? (v as unknown[])[v.length - 1] : v;
    if (typeof value === 'string') out[k] = value;
  }
  return out;
}

/** The form Twilio posts, signed with X-Twilio-Signature. */
const TwilioForm = () =>
  applyDecorators(
    ApiConsumes('application/x-www-form-urlencoded'),
    ApiHeader({ name: 'X-Twilio-Signature', required: true, description: "Twilio's request signature" }),
    ApiBody({ schema: { type: 'object', additionalProperties: { type: 'string' } } }),
  );

/** Twilio's status callbacks and incoming SMS; authenticated by Twilio's signature, not an API key. */
@ApiTags('provider callbacks')
@Controller('v1/providers/twilio')
@Public()
export class ProvidersController {
  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(LOGGER) private readonly log: Logger,
    private readonly catalog: Catalog,
    private readonly shards: Shards,
    private readonly changes: ChangeNotifier,
  ) {}

  /** Checks X-Twilio-Signature against the public URL Twilio called (rebuilt from PUBLIC_BASE_URL). */
  private verified(
    req: FastifyRequest,
    signature: string | undefined,
    body: unknown,
  ): Record<string, string> {
    const twilio = this.config.twilio;
    if (!twilio) throw new ProblemException(404, 'SMS is not configured on this server.');
    const params = formParams(body);
    const url = this.config.publicBaseUrl + req.url;
    if (!verifyTwilioSignature(twilio.authToken, signature, url, params)) {
      throw forbidden('The X-Twilio-Signature header does not match this request.');
    }
    return params;
  }

  @ApiDoc({
    summary: "Twilio's message status callback (signed by Twilio; no API key)",
    type: ReceivedSchema,
    example: { received: true },
    problems: [
      [403, 'The X-Twilio-Signature header does not match this request.'],
      [404, 'SMS is not configured on this server.'],
    ],
  })
  @TwilioForm()
  @Post('status')
  @HttpCode(200)
  async status(
    @Req() req: FastifyRequest,
    @Headers('x-twilio-signature') signature: string | undefined,
    @Body() body: unknown,
  ) {
    const callback = parseStatusCallback(this.verified(req, signature, body));
    if (!callback)
      throw badRequest('Not a Twilio status callback: MessageSid and MessageStatus are required.');
    // The status goes to the stream of the delivery's message, after the attempt that recorded it.
    const deliveryId = (req.query as Record<string, unknown> | undefined)?.delivery;
    const parts = typeof deliveryId === 'string' ? deliveryParts(deliveryId) : null;
    const events = (parts ? this.shards.ofMessage(parts.messageId) : this.shards.all[0]).events;
    if (callback.status === 'delivered') {
      await events.emit({
        type: 'provider-status',
        providerMessageId: callback.providerMessageId,
        update: { status: 'delivered' },
      });
    } else if (callback.status === 'failed' || callback.status === 'undelivered') {
      const code = callback.errorCode ? Number(callback.errorCode) : null;
      await events.emit({
        type: 'provider-status',
        providerMessageId: callback.providerMessageId,
        update: {
          status: 'dead',
          errorCode: Number.isFinite(code) ? code : null,
          error: `Twilio reported the message ${callback.status}${callback.errorCode ? ` (error ${callback.errorCode})` : ''}`,
          reason: `provider reported the message ${callback.status}`,
        },
      });
    }
    return { received: true };
  }

  /** STOP and its synonyms unsubscribe every SMS subscription of the sender; START resubscribes them. */
  @ApiDoc({
    summary: 'An SMS sent to your Twilio number: STOP, START and HELP (signed by Twilio; no API key)',
    text: { media: 'text/xml', example: '<?xml version="1.0" encoding="UTF-8"?><Response></Response>' },
    problems: [
      [403, 'The X-Twilio-Signature header does not match this request.'],
      [404, 'SMS is not configured on this server.'],
    ],
  })
  @TwilioForm()
  @Post('inbound')
  async inbound(
    @Req() req: FastifyRequest,
    @Headers('x-twilio-signature') signature: string | undefined,
    @Body() body: unknown,
    @Res() reply: FastifyReply,
  ) {
    const sms = parseInboundSms(this.verified(req, signature, body));
    if (!sms) throw badRequest('Not a Twilio inbound message: From and Body are required.');
    let answer: string | null = null;
    if (sms.keyword === 'stop' || sms.keyword === 'start') {
      const [from, to] =
        sms.keyword === 'stop'
          ? [['active', 'paused', 'pending'] as const, 'unsubscribed' as const]
          : [['unsubscribed'] as const, 'active' as const];
      const changed = await this.catalog.subscriptions.setStatusByEndpoint('sms', sms.from, [...from], to);
      await this.changes.notify({ kind: 'subscription', id: '*' });
      this.log.info({ keyword: sms.keyword, changed }, 'SMS opt-out keyword handled');
    } else if (sms.keyword === 'help') {
      answer = HELP_TEXT;
    }
    return reply.status(200).type('text/xml; charset=utf-8').send(twimlMessage(answer));
  }
}
