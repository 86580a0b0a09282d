import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';
import {
  SMTPServer,
  type SMTPServerDataStream,
  type SMTPServerError,
  type SMTPServerSession,
} from 'smtp-server';

/** One message the sink accepted. */
export interface ReceivedEmail {
  /** SMTP envelope: MAIL FROM and the accepted RCPT TO addresses. */
  envelope: { from: string; to: string[] };
  /** The message exactly as it came over DATA. */
  raw: Buffer;
  parsed: ParsedMail;
}

/** The SMTP stage whose reply a test overrides. */
export type SmtpStage = 'RCPT' | 'DATA';

export interface SmtpSinkOptions {
  /** When set, clients must log in with exactly these credentials (AUTH over plain TCP is allowed). */
  auth?: { user: string; pass: string };
}

interface Waiter {
  count: number;
  resolve: (messages: ReceivedEmail[]) => void;
}

/**
 * An in-process SMTP server on a free loopback port for tests: records every accepted message
 * (parsed with mailparser) and can answer the next RCPT or DATA commands with a chosen code.
 */
export class SmtpSink {
  readonly messages: ReceivedEmail[] = [];
  /** Every reply the sink forced, in order, e.g. `{ stage: 'RCPT', code: 451 }`. */
  readonly forcedReplies: Array<{ stage: SmtpStage; code: number }> = [];
  private readonly failures: Record<SmtpStage, Array<{ code: number; text: string }>> = {
    RCPT: [],
    DATA: [],
  };
  private readonly waiters: Waiter[] = [];
  private cursor = 0;

  private readonly server: SMTPServer;
  private listeningPort = 0;

  private constructor(options: SmtpSinkOptions) {
    this.server = new SMTPServer({
      logger: false,
      disabledCommands: ['STARTTLS'],
      hideSTARTTLS: true,
      authOptional: options.auth === undefined,
      allowInsecureAuth: true,
      disableReverseLookup: true,
      // The adapter's pool keeps connections open; do not let a forgotten one stall teardown.
      closeTimeout: 1000,
      onAuth(auth, _session, callback) {
        const expected = options.auth;
        if (expected && auth.username === expected.user && auth.password === expected.pass) {
          callback(null, { user: auth.username });
        } else {
          callback(null, { message: 'Authentication credentials invalid', responseCode: 535 });
        }
      },
      onRcptTo: (_address, _session, callback) => {
        callback(this.takeFailure('RCPT'));
      },
      onData: (stream, session, callback) => {
        this.receive(stream, session).then(
          (err) => callback(err),
          (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
        );
      },
    });
  }

  /** Starts a sink on 127.0.0.1 and a free port. */
  static async start(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
    const sink = new SmtpSink(options);
    await new Promise<void>((resolve, reject) => {
      sink.server.once('error', reject);
      sink.server.listen(0, '127.0.0.1', () => resolve());
    });
    sink.listeningPort = (sink.server.server.address() as AddressInfo).port;
    return sink;
  }

  get port(): number {
    return this.listeningPort;
  }

  /** `smtp://127.0.0.1:<port>`, with the given credentials when passed. */
  url(credentials?: { user: string; pass: string }): string {
    if (!credentials) return `smtp://127.0.0.1:${this.port}`;
    return `smtp://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.pass)}@127.0.0.1:${this.port}`;
  }

  /** Makes the next `times` RCPT or DATA commands answer `code` (e.g. 451 temporary, 550 permanent). */
  failNext(stage: SmtpStage, code: number, times = 1, text = `Forced ${code} by SmtpSink`): void {
    for (let i = 0; i < times; i++) this.failures[stage].push({ code, text });
  }

  /** Resolves with all messages once at least `n` have arrived. */
  waitForMessages(n: number): Promise<ReceivedEmail[]> {
    if (this.messages.length >= n) return Promise.resolve([...this.messages]);
    return new Promise((resolve) => this.waiters.push({ count: n, resolve }));
  }

  /** The next message not yet returned by nextMessage, waiting for it when needed. */
  async nextMessage(): Promise<ReceivedEmail> {
    const index = this.cursor++;
    const all = await this.waitForMessages(index + 1);
    return all[index];
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private takeFailure(stage: SmtpStage): SMTPServerError | null {
    const next = this.failures[stage].shift();
    if (!next) return null;
    this.forcedReplies.push({ stage, code: next.code });
    const err: SMTPServerError = new Error(next.text);
    err.responseCode = next.code;
    return err;
  }

  private async receive(
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
  ): Promise<SMTPServerError | null> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    // The body must be read in full before answering, whatever the answer.
    const failure = this.takeFailure('DATA');
    if (failure) return failure;
    const raw = Buffer.concat(chunks);
    const parsed = await simpleParser(raw);
    const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    this.messages.push({
      envelope: { from, to: session.envelope.rcptTo.map((r) => r.address) },
      raw,
      parsed,
    });
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i];
      if (this.messages.length >= waiter.count) {
        this.waiters.splice(i, 1);
        waiter.resolve([...this.messages]);
      }
    }
    return null;
  }
}

/** The raw header lines named `name` (case-insensitive), e.g. `List-Unsubscribe: <https://…>, <mailto:…>`. */
export function headerLines(mail: ParsedMail, name: string): string[] {
  const key = name.toLowerCase();
  return mail.headerLines.filter((h) => h.key === key).map((h) => h.line);
}

/** Every http(s) link in a text body, in order. */
export function extractLinks(text: string | undefined | false): string[] {
  if (!text) return [];
  return [...text.matchAll(/https?:\/\/[^\s<>"')\]]+/g)].map((m) => m[0]);
}
