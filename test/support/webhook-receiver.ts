import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { Webhook } from 'standardwebhooks';

/**
 * How the receiver answers one request: a status code, a status with headers and body (sent once
 * `after` settles, when given: a slow receiver the test releases), or `'hang'` (never answer, to
 * exercise timeouts). With an empty script every request gets the default answer (200 unless set).
 */
export type ReceiverAnswer =
  | number
  | {
      status: number;
      headers?: Record<string, string>;
      body?: string;
      after?: Promise<unknown>;
      /** Answer this long after the request arrived: a slow receiver, so deliveries are in flight. */
      delayMs?: number;
    }
  | 'hang';

export interface ReceivedRequest {
  method: string;
  path: string;
  /** Lower-case header names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
  /** The receiver's secrets whose `new Webhook(secret).verify(body, headers)` accepted the request. */
  verifiedWith: string[];
  /** True when at least one secret verified; null when the receiver has no secrets to check. */
  verified: boolean | null;
  /** What the receiver answered (401 when no secret verified). */
  answeredWith: number | 'hang';
  /** When it arrived (Date.now()). */
  at: number;
  /** True once the answer was sent. */
  answered: boolean;
  /** True once the sender closed the connection before the answer was sent (it died waiting). */
  abandoned: boolean;
}

export interface WebhookReceiverOptions {
  /**
   * Signing secrets (`whsec_…`). Each request is verified with every one of them via the official
   * `standardwebhooks` package; a request none of them accepts is answered 401 and not scripted.
   */
  secrets?: string[];
  /** Also listen on [::1], same port, for IPv6 literal URLs. */
  ipv6?: boolean;
}

/**
 * A webhook receiver on a free loopback port: verifies Standard Webhooks signatures, records every
 * request, answers as scripted. Waiting is event-driven: `next()` and `waitFor(n)` resolve when the
 * request arrives.
 */
export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  /** TCP connections accepted, so a test can show that a denied request never even connected. */
  connections = 0;
  private readonly script: ReceiverAnswer[] = [];
  private fallback: ReceiverAnswer = 200;
  private readonly events = new EventEmitter();
  private readonly server: Server;
  private ipv6Server: NetServer | null = null;
  private consumed = 0;
  private listeningPort = 0;

  constructor(private readonly options: WebhookReceiverOptions = {}) {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('connection', () => this.connections++);
  }

  async start(): Promise<this> {
    for (let tries = 0; ; tries++) {
      await listen(this.server, 0, '127.0.0.1');
      this.listeningPort = (this.server.address() as AddressInfo).port;
      if (!this.options.ipv6) return this;
      const v6 = createNetServer((socket) => this.server.emit('connection', socket));
      try {
        await listen(v6, this.listeningPort, '::1');
        this.ipv6Server = v6;
        return this;
      } catch (err) {
        // Someone holds that port on ::1: start over on another port.
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
        if (tries >= 10) throw err;
      }
    }
  }

  get port(): number {
    return this.listeningPort;
  }

  /** `http://127.0.0.1:<port><path>`. */
  get url(): string {
    return this.urlFor('127.0.0.1');
  }

  /** The receiver's URL through another spelling of its host (`localhost`, `[::1]`, `2130706433`…). */
  urlFor(host: string, path = '/'): string {
    return `http://${host}:${this.listeningPort}${path}`;
  }

  /**
   * How requests are answered once the script is used up (200 unless changed): a receiver that starts
   * failing, and recovers when set back to 200.
   */
  answerByDefault(answer: ReceiverAnswer): this {
    this.fallback = answer;
    return this;
  }

  /** Queues answers for the next requests, in order. */
  reply(...answers: ReceiverAnswer[]): this {
    this.script.push(...answers);
    return this;
  }

  /** The next request not yet returned by `next()`, as soon as it has arrived. */
  async next(): Promise<ReceivedRequest> {
    await this.waitFor(this.consumed + 1);
    return this.requests[this.consumed++];
  }

  /** Requests that arrived and wait for their (delayed, or never sent) answer, the sender still there. */
  get open(): number {
    return this.requests.filter((r) => !r.answered && !r.abandoned).length;
  }

  /** Resolves once at least `n` requests are open at the same time (see `open`). */
  waitForOpen(n: number): Promise<void> {
    if (this.open >= n) return Promise.resolve();
    return new Promise((resolve) => {
      const onRequest = () => {
        if (this.open < n) return;
        this.events.off('request', onRequest);
        resolve();
      };
      this.events.on('request', onRequest);
    });
  }

  /** Resolves once at least `n` requests have arrived in total. */
  waitFor(n: number): Promise<ReceivedRequest[]> {
    if (this.requests.length >= n) return Promise.resolve(this.requests.slice());
    return new Promise((resolve) => {
      const onRequest = () => {
        if (this.requests.length < n) return;
        this.events.off('request', onRequest);
        resolve(this.requests.slice());
      };
      this.events.on('request', onRequest);
    });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await Promise.all([
      new Promise<void>((resolve) => this.server.close(() => resolve())),
      this.ipv6Server ? new Promise<void>((resolve) => this.ipv6Server!.close(() => resolve())) : undefined,
    ]);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      const secrets = this.options.secrets ?? [];
      const verifiedWith = secrets.filter((secret) => {
        try {
          new Webhook(secret).verify(body, headers, { jsonParse: false });
          return true;
        } catch {
          return false;
        }
      });
      const verified = secrets.length === 0 ? null : verifiedWith.length > 0;
      const answer: ReceiverAnswer = verified === false ? 401 : (this.script.shift() ?? this.fallback);
      const received: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers,
        body,
        verifiedWith,
        verified,
        answeredWith: answer === 'hang' ? 'hang' : typeof answer === 'number' ? answer : answer.status,
        abandoned: false,
        at: Date.now(),
        answered: false,
      };
      // The sender went away (its end of the connection closed) before the answer was sent.
      const socket = req.socket;
      const gone = () => {
        if (!res.writableEnded) received.abandoned = true;
      };
      socket.once('end', gone).once('close', gone);
      res.once('finish', () => socket.off('end', gone).off('close', gone));
      this.requests.push(received);
      this.events.emit('request');
      if (answer === 'hang') return;
      const {
        status,
        headers: answerHeaders = {},
        body: answerBody = '',
        after,
        delayMs,
      } = typeof answer === 'number' ? { status: answer } : answer;
      const send = () => {
        if (res.destroyed) return;
        received.answered = true;
        res.writeHead(status, answerHeaders);
        res.end(answerBody);
      };
      if (after) void after.then(send, send);
      else if (delayMs) setTimeout(send, delayMs);
      else send();
    });
  }
}

function listen(server: Server | NetServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
