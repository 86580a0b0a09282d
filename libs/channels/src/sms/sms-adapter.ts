import { delivered, failed, retry, type DeliveryOutcome } from '@herald/core';
import type { HeraldConfig, TwilioConfig } from '@herald/config';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { Twilio } from 'twilio';
import type { ChannelAdapter, DeliveryRequest, EndpointCheck } from '../channel-adapter';
import { classifyTwilioError } from './classify-twilio-error';
import { smsText } from './sms-text';
import type { TwilioHttpClient } from './twilio-http-client';

export const SMS_DISABLED_REASON =
  'SMS is disabled: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM (or TWILIO_MESSAGING_SERVICE_SID)';

/** Path of the status-callback route on Herald's API (API.md, provider callbacks). */
export const TWILIO_STATUS_CALLBACK_PATH = '/v1/providers/twilio/status';

const E164_EXAMPLE = 'such as +14155550100';

export interface SmsAdapterOptions {
  /** Timeout of one Twilio API call. */
  timeoutMs?: number;
}

/**
 * SMS through Twilio's Messages API with the official SDK. Sends from TWILIO_FROM or through a
 * messaging service, asks Twilio to report delivery to Herald's status-callback route.
 */
export class SmsAdapter implements ChannelAdapter {
  readonly protocol = 'sms' as const;
  private readonly twilio: TwilioConfig | null;
  /**
   * The SDK and its HTTP client, loaded on first use: the Twilio SDK costs about 300 ms and 20 MB to
   * load, which a Herald without SMS should not pay at start.
   */
  private sdk: Promise<{ client: Twilio; http: TwilioHttpClient }> | null = null;
  private readonly timeoutMs: number | undefined;
  private readonly statusCallback: string;
  private readonly secrets: string[];

  constructor(config: Pick<HeraldConfig, 'twilio' | 'publicBaseUrl'>, options: SmsAdapterOptions = {}) {
    this.twilio = config.twilio;
    this.timeoutMs = options.timeoutMs;
    this.statusCallback = `${config.publicBaseUrl.replace(/\/+$/, '')}${TWILIO_STATUS_CALLBACK_PATH}`;
    const tw = config.twilio;
    this.secrets = tw
      ? [tw.authToken, Buffer.from(`${tw.accountSid}:${tw.authToken}`).toString('base64')].filter(Boolean)
      : [];
  }

  private loadSdk(tw: TwilioConfig): Promise<{ client: Twilio; http: TwilioHttpClient }> {
    this.sdk ??= (async () => {
      const [{ default: twilio }, { TwilioHttpClient }] = await Promise.all([
        import('twilio'),
        import('./twilio-http-client'),
      ]);
      const http = new TwilioHttpClient({ apiBaseUrl: tw.apiBaseUrl, timeoutMs: this.timeoutMs });
      // An explicit logLevel keeps TWILIO_LOG_LEVEL=debug in the environment from printing every request.
      const client = twilio(tw.accountSid, tw.authToken, { httpClient: http, logLevel: 'info' });
      return { client, http };
    })();
    return this.sdk;
  }

  availability(): { available: true } | { available: false; reason: string } {
    return this.twilio ? { available: true } : { available: false, reason: SMS_DISABLED_REASON };
  }

  /** Accepts an international number with a leading `+` (spaces, dots, dashes and brackets are dropped). */
  checkEndpoint(endpoint: string): EndpointCheck {
    const trimmed = endpoint.trim();
    const compact = trimmed.replace(/[\s.()-]/g, '');
    if (!/^\+\d+$/.test(compact)) {
      return { ok: false, message: `must be a phone number in E.164 form, ${E164_EXAMPLE}` };
    }
    const parsed = parsePhoneNumberFromString(compact);
    if (!parsed || !parsed.isValid()) {
      return {
        ok: false,
        message: `must be a valid phone number in E.164 form, ${E164_EXAMPLE} (no such number in its country's plan)`,
      };
    }
    return { ok: true, endpoint: parsed.number };
  }

  /** One bucket per sending number (or messaging service): Twilio's throughput limit is per sender. */
  senderThrottle(_request: DeliveryRequest): { key: string; perSecond: number } | null {
    const tw = this.twilio;
    if (!tw) return null;
    const sender = tw.from ?? tw.messagingServiceSid;
    return sender ? { key: `sms:${sender}`, perSecond: tw.messagesPerSecond } : null;
  }

  async send(request: DeliveryRequest): Promise<DeliveryOutcome> {
    if (request.kind === 'SubscriptionConfirmation') return failed('SMS subscriptions need no confirmation');
    const tw = this.twilio;
    if (!tw) return retry(SMS_DISABLED_REASON);
    const body = smsText(request.message);
    if (body.trim() === '') return failed('the message has no text to send by SMS');

    const { client, http } = await this.loadSdk(tw);
    const call = await http.track(() =>
      client.messages.create({
        to: request.subscription.endpoint,
        body,
        ...(tw.from ? { from: tw.from } : { messagingServiceSid: tw.messagingServiceSid ?? undefined }),
        // The delivery id tells the status callback which shard's stream records it (see Shards.ofEvent).
        statusCallback: `${this.statusCallback}?delivery=${encodeURIComponent(request.deliveryId)}`,
      }),
    );
    if (call.ok) return delivered(201, call.value.sid);
    return this.redact(classifyTwilioError(call.error, call.retryAfter));
  }

  async close(): Promise<void> {
    const sdk = await this.sdk?.catch(() => null);
    sdk?.http.close();
  }

  /** Belt and braces: whatever an error text quotes, the auth token never reaches a record or a log. */
  private redact(outcome: DeliveryOutcome): DeliveryOutcome {
    if (outcome.result === 'delivered') return outcome;
    let error = outcome.error;
    for (const secret of this.secrets) error = error.split(secret).join('[redacted]');
    return { ...outcome, error };
  }
}
