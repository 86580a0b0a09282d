import type { HeraldConfig } from '@herald/config';
import { delivered, describeError, failed, retry, type DeliveryOutcome } from '@herald/core';
import {
  createTransport,
  type SMTPPoolSentMessageInfo,
  type StreamSentMessageInfo,
  type Transporter,
} from 'nodemailer';
import pino from 'pino';
import type { SnsDocuments } from '@herald/sns';
import type { ChannelAdapter, DeliveryRequest, EndpointCheck } from '../channel-adapter';
import { classifySmtpError } from './classify-smtp-error';
import { composeEmail, type EmailSettings } from './compose-email';
import { checkEmailAddress } from './email-address';
import { OutboxWriter } from './outbox-writer';
import { redactSmtpUrl, smtpUrlSecrets } from './smtp-url';
import { snsEmailDocument } from '../sns/sns-rendering';

/** The part of a pino logger the adapter uses. */
export interface EmailLogger {
  info(obj: object, msg: string): void;
}

export interface EmailAdapterOptions {
  logger?: EmailLogger;
  /** Renders the SNS JSON documents `sns`-format (email-json) subscriptions get. */
  sns?: SnsDocuments;
}

/** Generous for a slow relay, short enough that a dead one frees the worker well within a job lock. */
const CONNECTION_TIMEOUT_MS = 15_000;
const GREETING_TIMEOUT_MS = 15_000;
const SOCKET_TIMEOUT_MS = 30_000;
const MESSAGES_PER_CONNECTION = 100;

type Sender =
  | { mode: 'smtp'; mailer: Transporter<SMTPPoolSentMessageInfo> }
  | { mode: 'outbox'; mailer: Transporter<StreamSentMessageInfo>; outbox: OutboxWriter };

/**
 * The email channel: one pooled SMTP transporter per process (create one adapter per process), or,
 * without SMTP_URL, `.eml` files in the outbox folder. Never throws for a failed delivery.
 */
export class EmailAdapter implements ChannelAdapter {
  readonly protocol = 'email' as const;
  private readonly sender: Sender;
  private readonly settings: EmailSettings;
  private readonly secrets: string[];
  private readonly sns: SnsDocuments | null;
  private closed = false;

  constructor(config: Pick<HeraldConfig, 'smtp'>, options: EmailAdapterOptions = {}) {
    const logger = options.logger ?? pino({ base: { service: 'herald' } });
    this.sns = options.sns ?? null;
    const { smtp } = config;
    const domain = senderDomain(smtp.from);
    // Caught here, a bad sender fails start-up once instead of dead-lettering every email.
    if (domain === null)
      throw new Error('EMAIL_FROM must contain an email address, e.g. "Herald <herald@example.com>"');
    this.settings = { from: smtp.from, messageIdDomain: domain, unsubscribeMailto: smtp.unsubscribeMailto };
    this.secrets = smtp.url ? smtpUrlSecrets(smtp.url) : [];
    if (smtp.url) {
      this.sender = {
        mode: 'smtp',
        mailer: createTransport({
          url: smtp.url,
          pool: true,
          maxConnections: smtp.poolSize,
          maxMessages: MESSAGES_PER_CONNECTION,
          ...(smtp.rateLimitPerSecond > 0 ? { rateDelta: 1000, rateLimit: smtp.rateLimitPerSecond } : {}),
          connectionTimeout: CONNECTION_TIMEOUT_MS,
          greetingTimeout: GREETING_TIMEOUT_MS,
          socketTimeout: SOCKET_TIMEOUT_MS,
          logger: false,
        }),
      };
      logger.info(
        {
          smtp: redactSmtpUrl(smtp.url),
          poolSize: smtp.poolSize,
          rateLimitPerSecond: smtp.rateLimitPerSecond,
        },
        'email is sent through SMTP',
      );
    } else {
      this.sender = {
        mode: 'outbox',
        mailer: createTransport({ streamTransport: true, buffer: true, newline: 'windows' }),
        outbox: new OutboxWriter(smtp.outboxDir),
      };
      logger.info(
        { outboxDir: smtp.outboxDir },
        'SMTP_URL is not set: emails are written as .eml files into the outbox folder, not sent',
      );
    }
  }

  /** Whether emails go out over SMTP or into the outbox folder. */
  get mode(): 'smtp' | 'outbox' {
    return this.sender.mode;
  }

  checkEndpoint(endpoint: string): EndpointCheck {
    return checkEmailAddress(endpoint);
  }

  availability(): { available: true } {
    return { available: true };
  }

  async send(request: DeliveryRequest): Promise<DeliveryOutcome> {
    if (this.closed) return retry('email channel is shutting down');
    const recipient = checkEmailAddress(request.subscription.endpoint);
    if (!recipient.ok) return failed(`invalid recipient address: ${recipient.message}`);
    let mail;
    try {
      const snsDocument =
        request.subscription.format === 'sns' && this.sns
          ? await snsEmailDocument(this.sns, request)
          : undefined;
      mail = composeEmail(request, this.settings, snsDocument);
    } catch (err) {
      return retry(`the email could not be written: ${describeError(err)}`);
    }
    try {
      if (this.sender.mode === 'outbox') {
        const info = await this.sender.mailer.sendMail(mail);
        if (!Buffer.isBuffer(info.message)) return retry('outbox: the message was not rendered to a buffer');
        await this.sender.outbox.write(info.message, {
          messageId: request.kind === 'Notification' ? request.message.id : request.messageId,
          deliveryId: request.deliveryId,
        });
        return delivered(undefined, info.messageId);
      }
      const info = await this.sender.mailer.sendMail(mail);
      return delivered(replyCode(info.response), info.messageId);
    } catch (err) {
      const outcome =
        this.sender.mode === 'smtp' ? classifySmtpError(err) : retry(`outbox: ${describeError(err)}`);
      return this.redacted(outcome);
    }
  }

  /** Closes the pool: idle connections at once, busy ones after their current message. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sender.mailer.close();
  }

  private redacted(outcome: DeliveryOutcome): DeliveryOutcome {
    if (outcome.result === 'delivered' || this.secrets.length === 0) return outcome;
    let error = outcome.error;
    for (const secret of this.secrets) error = error.split(secret).join('***');
    return { ...outcome, error };
  }
}

/** The domain of the From address (`a@b.c` or `Name <a@b.c>`), for Message-IDs; null when From has none. */
function senderDomain(from: string): string | null {
  const match = /[^\s<>@",]+@([A-Za-z0-9.-]+)>?$/.exec(from.trim());
  return match ? match[1].toLowerCase() : null;
}

function replyCode(response: string | undefined): number | undefined {
  const match = /^(\d{3})\b/.exec(response ?? '');
  return match ? Number(match[1]) : undefined;
}
