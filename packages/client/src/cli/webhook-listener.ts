import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HeraldClient } from '../herald-client';
import { verifyWebhook, WebhookVerificationFailed, type HeraldWebhook } from '../verify-webhook';
import type { Output } from './output';

const MAX_BODY_BYTES = 1024 * 1024;

export interface ListenOptions {
  host: string;
  port: number;
  /** The subscription's `whsec_` secret; without one, requests are printed unverified. */
  secret?: string;
  /** Subscribe the listener's own URL to this topic: its secret then verifies every request. */
  subscribe?: string;
  heraldUrl: string;
}

interface Received {
  verified: boolean;
  webhook: HeraldWebhook | null;
  body: string;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) req.destroy(new Error('body too large'));
      else chunks.push(c);
    });
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

function parseUnverified(body: string): HeraldWebhook | null {
  try {
    const parsed = JSON.parse(body) as { type?: unknown } | null;
    return parsed?.type === 'Notification' || parsed?.type === 'SubscriptionConfirmation'
      ? (parsed as HeraldWebhook)
      : null;
  } catch {
    return null;
  }
}

/**
 * `herald listen`: a local webhook receiver that verifies each request with the subscription's secret,
 * prints it, and confirms the subscription confirmations it receives (a GET of their `confirmUrl`).
 */
export class WebhookListener {
  private server: Server | null = null;
  private secret: Promise<string | undefined>;
  private learnSecret: (secret: string | undefined) => void = () => {};

  constructor(
    private readonly client: HeraldClient,
    private readonly options: ListenOptions,
    private readonly out: Output,
  ) {
    this.secret = options.subscribe
      ? new Promise((resolve) => (this.learnSecret = resolve))
      : Promise.resolve(options.secret);
  }

  /** Listens, subscribes when asked, and answers the URL Herald delivers to. */
  async start(): Promise<string> {
    const server = createServer((req, res) => {
      void this.handle(req).then(
        (status) => res.writeHead(status).end(),
        () => res.writeHead(400).end(),
      );
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const url = `http://${this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host}:${port}/`;
    this.note(`listening on ${url}`);
    if (this.options.subscribe) {
      try {
        const sub = await this.client.subscriptions.create(this.options.subscribe, {
          protocol: 'webhook',
          endpoint: url,
        });
        this.learnSecret(this.options.secret ?? sub.secret ?? undefined);
        this.note(
          `subscribed ${sub.id} to ${this.options.subscribe} (${sub.status}); every request is verified with its secret`,
        );
      } catch (err) {
        this.learnSecret(this.options.secret);
        await this.close();
        throw err;
      }
    } else if (!this.options.secret) {
      this.note('no --secret: requests are printed without checking their signature');
    }
    return url;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage): Promise<number> {
    const body = await readBody(req);
    const secret = await this.secret;
    let received: Received;
    if (secret) {
      try {
        received = { verified: true, webhook: verifyWebhook(secret, req.headers, body), body };
      } catch (err) {
        if (!(err instanceof WebhookVerificationFailed)) throw err;
        this.report(
          { rejected: err.message, headers: pick(req), body },
          `✗ rejected ${req.method} ${req.url}: ${err.message}\n`,
        );
        return 401;
      }
    } else {
      received = { verified: false, webhook: parseUnverified(body), body };
    }
    this.print(req, received);
    const w = received.webhook;
    if (w?.type === 'SubscriptionConfirmation') setImmediate(() => void this.confirm(w, received.verified));
    return 200;
  }

  private print(req: IncomingMessage, r: Received): void {
    const h = pick(req);
    const w = r.webhook;
    const mark = r.verified ? '✔ verified' : '! not verified';
    const head = w
      ? `▶ ${w.type} ${w.messageId} topic=${w.topic} subscription=${w.subscriptionId} attempt=${h['x-herald-attempt'] ?? '-'} (${mark})`
      : `▶ ${req.method} ${req.url} webhook-id=${h['webhook-id'] ?? '-'} (${mark})`;
    let detail = r.body;
    if (w?.type === 'Notification') {
      detail = JSON.stringify({ subject: w.subject, attributes: w.attributes, body: w.body }, null, 2);
    } else if (w?.type === 'SubscriptionConfirmation') {
      detail = `confirmUrl: ${redacted(w.confirmUrl)}`;
    }
    this.report({ verified: r.verified, headers: h, body: w ?? r.body }, `${head}\n${indent(detail)}\n`);
  }

  /**
   * GETs the confirmation's confirmUrl. An unverified one (no secret) is followed only when it points at
   * the Herald this CLI talks to, so a forged request cannot make the listener fetch other URLs.
   */
  private async confirm(w: Extract<HeraldWebhook, { type: 'SubscriptionConfirmation' }>, verified: boolean) {
    let confirmUrl: URL;
    try {
      confirmUrl = new URL(w.confirmUrl);
    } catch {
      this.note(`✗ not confirming ${w.subscriptionId}: confirmUrl is not a URL`);
      return;
    }
    if (!verified && confirmUrl.origin !== new URL(this.options.heraldUrl).origin) {
      this.note(
        `✗ not confirming ${w.subscriptionId}: unverified, and confirmUrl is not on ${this.options.heraldUrl}`,
      );
      return;
    }
    try {
      const res = await fetch(confirmUrl, { headers: { accept: 'application/json' } });
      await res.arrayBuffer();
      if (res.ok) this.report({ confirmed: w.subscriptionId }, `✔ confirmed ${w.subscriptionId}\n`);
      else this.note(`✗ confirming ${w.subscriptionId} answered ${res.status}`);
    } catch (err) {
      this.note(
        `✗ could not confirm ${w.subscriptionId}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  private report(json: unknown, human: string): void {
    this.out.stdout.write(this.out.json ? `${JSON.stringify(json)}\n` : human);
  }

  private note(line: string): void {
    this.out.stderr.write(`${line}\n`);
  }
}

function pick(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if ((name.startsWith('webhook-') || name.startsWith('x-herald-')) && typeof value === 'string')
      out[name] = value;
  }
  return out;
}

/** The confirmation token is a credential: printed only when the listener leaves confirming to the user. */
function redacted(url: string): string {
  return url.replace(/([?&]token=)[^&]+/, '$1…');
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
