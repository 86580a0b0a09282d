import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { request } from 'undici';

/** A message the server accepted (answered 201). */
export interface RecordedMessage {
  sid: string;
  accountSid: string;
  to: string;
  from: string | null;
  messagingServiceSid: string | null;
  body: string;
  statusCallback: string | null;
  /** Every form parameter as posted. */
  params: Record<string, string>;
}

/** Every request that reached the Messages endpoint, with the status it was answered. */
export interface RecordedRequest {
  path: string;
  status: number;
  params: Record<string, string>;
}

/** A scripted answer for the next request: an error in Twilio's JSON shape. */
export interface ScriptedAnswer {
  status: number;
  code?: number;
  message?: string;
  /** Sent as the Retry-After header. */
  retryAfter?: string | number;
}

export interface TwilioServerOptions {
  accountSid?: string;
  authToken?: string;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/**
 * A Twilio-compatible Messages API on a free loopback port, for the real twilio SDK (through
 * TWILIO_API_BASE_URL). Checks Basic auth, validates like Twilio, records messages, can be scripted.
 */
export class TwilioServer {
  readonly accountSid: string;
  readonly authToken: string;
  readonly messages: RecordedMessage[] = [];
  readonly requests: RecordedRequest[] = [];
  private readonly script: ScriptedAnswer[] = [];
  private readonly events = new EventEmitter();
  private readonly server: Server;
  private taken = 0;
  private port = 0;

  private constructor(options: TwilioServerOptions) {
    this.accountSid = options.accountSid ?? `AC${hex(16)}`;
    this.authToken = options.authToken ?? hex(16);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.statusCode = 500;
        res.end(JSON.stringify({ message: String(err) }));
      });
    });
  }

  static async start(options: TwilioServerOptions = {}): Promise<TwilioServer> {
    const server = new TwilioServer(options);
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.server.listen(0, '127.0.0.1', () => resolve());
    });
    server.port = (server.server.address() as AddressInfo).port;
    return server;
  }

  /** The origin to use as TWILIO_API_BASE_URL. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The next requests get these answers, in order, instead of being accepted. */
  scriptAnswers(...answers: ScriptedAnswer[]): void {
    this.script.push(...answers);
  }

  /** Resolves once at least `n` messages were accepted (at once if they already were). */
  waitForMessages(n: number): Promise<RecordedMessage[]> {
    return this.waitFor(
      () => this.messages.length >= n,
      () => this.messages.slice(0, n),
    );
  }

  /** Resolves with the next accepted message not yet returned by nextMessage(). */
  nextMessage(): Promise<RecordedMessage> {
    const index = this.taken++;
    return this.waitFor(
      () => this.messages.length > index,
      () => this.messages[index],
    );
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private waitFor<T>(ready: () => boolean, value: () => T): Promise<T> {
    if (ready()) return Promise.resolve(value());
    return new Promise<T>((resolve) => {
      const check = () => {
        if (!ready()) return;
        this.events.off('message', check);
        resolve(value());
      };
      this.events.on('message', check);
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const raw = await readBody(req);
    const params = Object.fromEntries(new URLSearchParams(raw));
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      this.requests.push({ path, status, params });
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const error = (
      status: number,
      code: number | null,
      message: string,
      headers: Record<string, string> = {},
    ) =>
      answer(
        status,
        {
          code,
          message,
          more_info: code ? `https://www.twilio.com/docs/errors/${code}` : null,
          status,
        },
        headers,
      );

    const match = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(path);
    if (!match || req.method !== 'POST') return error(404, 20404, 'The requested resource was not found');
    if (!this.authorized(req.headers.authorization)) return error(401, 20003, 'Authenticate');
    if (match[1] !== this.accountSid) return error(404, 20404, 'The requested resource was not found');

    const scripted = this.script.shift();
    if (scripted) {
      const headers: Record<string, string> =
        scripted.retryAfter !== undefined ? { 'retry-after': String(scripted.retryAfter) } : {};
      return error(
        scripted.status,
        scripted.code ?? null,
        scripted.message ?? `Scripted ${scripted.status}`,
        headers,
      );
    }

    const to = params.To ?? '';
    const from = params.From ?? null;
    const messagingServiceSid = params.MessagingServiceSid ?? null;
    const body = params.Body ?? '';
    if (!to) return error(400, 21604, "A 'To' phone number is required.");
    if (!/^\+[1-9]\d{6,14}$/.test(to))
      return error(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
    if (!from && !messagingServiceSid) return error(400, 21603, "A 'From' phone number is required.");
    if (!body) return error(400, 21602, 'Message body is required.');
    if ([...body].length > 1600) {
      return error(400, 21617, 'The concatenated message body exceeds the 1600 character limit.');
    }

    const sid = `SM${hex(16)}`;
    const message: RecordedMessage = {
      sid,
      accountSid: this.accountSid,
      to,
      from,
      messagingServiceSid,
      body,
      statusCallback: params.StatusCallback ?? null,
      params,
    };
    this.messages.push(message);
    const now = new Date().toUTCString().replace('GMT', '+0000');
    answer(201, {
      account_sid: this.accountSid,
      api_version: '2010-04-01',
      body,
      date_created: now,
      date_sent: null,
      date_updated: now,
      direction: 'outbound-api',
      error_code: null,
      error_message: null,
      from,
      messaging_service_sid: messagingServiceSid,
      num_media: '0',
      num_segments: String(Math.max(1, Math.ceil([...body].length / 153))),
      price: null,
      price_unit: 'USD',
      sid,
      status: from ? 'queued' : 'accepted',
      subresource_uris: { media: `/2010-04-01/Accounts/${this.accountSid}/Messages/${sid}/Media.json` },
      to,
      uri: `/2010-04-01/Accounts/${this.accountSid}/Messages/${sid}.json`,
    });
    this.events.emit('message', message);
  }

  private authorized(header: string | undefined): boolean {
    if (!header?.startsWith('Basic ')) return false;
    const [user, ...rest] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
    return user === this.accountSid && rest.join(':') === this.authToken;
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A form post signed as Twilio signs its callbacks (X-Twilio-Signature), with the SDK's own helper. */
export function signedForm(
  url: string,
  params: Record<string, string>,
  authToken: string,
): { body: string; headers: Record<string, string> } {
  return {
    body: new URLSearchParams(params).toString(),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilio.getExpectedTwilioSignature(authToken, url, params),
    },
  };
}

/** Posts a signed Twilio callback (status or inbound SMS) to `url`, as Twilio would. */
export async function postSignedForm(
  url: string,
  params: Record<string, string>,
  authToken: string,
): Promise<{ statusCode: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { body, headers } = signedForm(url, params, authToken);
  const res = await request(url, { method: 'POST', body, headers });
  return { statusCode: res.statusCode, headers: res.headers, body: await res.body.text() };
}
