import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { buildHerald, type HeraldBuild } from './build';
import { Conditions } from './conditions';
import {
  ADMIN_KEY,
  createTestDatabase,
  eventually,
  heraldEndpoint,
  heraldRequester,
  type HeraldEndpoint,
} from './herald';
import { HeraldProcess } from './herald-process';
import { freePort } from './servers';
import { WebhookReceiver } from './webhook-receiver';

/** Polls `<url>/readyz` until it answers 200; fails at once, with the output, if the process ends. */
export async function waitUntilReady(proc: HeraldProcess, url: string): Promise<void> {
  const exited = proc.exited.then((exit) => {
    throw new Error(
      `Herald exited (${JSON.stringify(exit)}) before it was ready:\n${proc.output.slice(-3000)}`,
    );
  });
  const readyz = eventually(
    async () => {
      if (!proc.running) return undefined;
      try {
        return (await fetch(`${url}/readyz`)).status === 200;
      } catch {
        return undefined; // not listening yet
      }
    },
    `${url}/readyz to answer 200`,
    90_000,
  );
  await Promise.race([readyz, exited]);
}

/** A Herald API process (`HERALD_ROLES=api`, the built `npm start` entry) and a client for it. */
export interface ApiProcess extends HeraldEndpoint {
  process: HeraldProcess;
  url: string;
}

/**
 * Herald as a deployment runs it: API processes and worker processes, each a real child process of
 * the build, on a fresh PostgreSQL database and the Redis (or Redis Cluster) that `env` names, plus
 * the webhook receivers they deliver to. Workers recover a dead worker's jobs within seconds (a 2 s
 * lock, stalled checks every second). `stop()` ends all of it.
 */
export class HeraldFleet {
  private readonly receivers: WebhookReceiver[] = [];

  private constructor(
    private readonly build: HeraldBuild,
    private readonly db: { url: string; drop: () => Promise<void> },
    private readonly env: Record<string, string>,
    private readonly cwd: string,
  ) {}

  /** Builds Herald and makes its database; `env` says where Redis is and anything else all processes share. */
  static async start(env: Record<string, string>): Promise<HeraldFleet> {
    const [build, db] = await Promise.all([buildHerald(), createTestDatabase()]);
    const cwd = mkdtempSync(join(tmpdir(), 'herald-fleet-'));
    return new HeraldFleet(
      build,
      db,
      {
        DATABASE_URL: db.url,
        HERALD_DATA_DIR: cwd,
        OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8',
        METRICS_PORT: '0',
        LOG_LEVEL: 'warn',
        ...env,
      },
      cwd,
    );
  }

  /** A webhook receiver on a free port, stopped with the fleet. */
  async receiver(): Promise<WebhookReceiver> {
    const r = await new WebhookReceiver().start();
    this.receivers.push(r);
    return r;
  }

  /** Kills every process (SIGKILL), stops the receivers, drops the database, removes the build. */
  async stop(): Promise<void> {
    await HeraldProcess.killAll();
    await Promise.all(this.receivers.map((r) => r.stop()));
    await this.db.drop();
    this.build.remove();
    rmSync(this.cwd, { recursive: true, force: true });
  }

  /** Starts an API process on a free port and resolves once it is ready. */
  async api(extra: Record<string, string> = {}): Promise<ApiProcess> {
    const listen = await freePort();
    const url = `http://127.0.0.1:${listen}`;
    const process = new HeraldProcess(
      this.build.apiMain,
      {
        ...this.env,
        ADMIN_API_KEY: ADMIN_KEY,
        HERALD_ROLES: 'api',
        PORT: String(listen),
        PUBLIC_BASE_URL: url,
        ...extra,
      },
      { cwd: this.cwd },
    );
    await waitUntilReady(process, url);
    return { process, url, ...heraldEndpoint(url) };
  }

  /** Starts a worker process (`npm run start:worker`) and resolves once its workers run. */
  async worker(publicBaseUrl: string): Promise<HeraldProcess> {
    const process = new HeraldProcess(
      this.build.workerMain,
      {
        ...this.env,
        PUBLIC_BASE_URL: publicBaseUrl,
        WORKER_LOCK_DURATION_MS: '2000',
        WORKER_STALLED_INTERVAL_MS: '1000',
        LOG_LEVEL: 'info', // for its "herald worker running" line
      },
      { cwd: this.cwd },
    );
    await process.waitForOutput(/"msg":"herald worker running"/, 'the worker to start');
    return process;
  }
}

/** One publish of a PublishLoad: what it was answered and how long that took. */
export interface LoadRequest {
  seq: number;
  /** The API it went to (its index in the load's targets). */
  target: number;
  startedAt: number;
  ms: number;
  /** The HTTP status, or 'timeout' (the client gave up) / 'error' (no answer at all). */
  status: number | 'timeout' | 'error';
  contentType: string;
  messageId: string | null;
  detail: string;
}

/**
 * A steady publish load: `concurrency` loops, each publishing a seq-tagged body (`{ seq }`) and the
 * next one as soon as the answer came, to the targets in turn (no stickiness), until stopped. Each
 * request has a client-side timeout, so a hung publish shows up as 'timeout' instead of stalling the
 * load. A refused publish is not retried (its seq is simply not accepted).
 */
export class PublishLoad {
  readonly requests: LoadRequest[] = [];
  private seq = 0;
  private stopped = false;
  private readonly loops: Array<Promise<void>>;
  private readonly conditions = new Conditions();

  /** `urls`: the API processes, in turn. */
  constructor(
    urls: readonly string[],
    private readonly topic: string,
    options: { concurrency: number; timeoutMs: number },
  ) {
    const clients = urls.map((u) => heraldRequester(u, options.timeoutMs));
    this.loops = Array.from({ length: options.concurrency }, () => this.loop(clients));
  }

  /** The requests answered 202, with their message ids. */
  get accepted(): LoadRequest[] {
    return this.requests.filter((r) => r.status === 202);
  }

  /** Resolves once `until()` holds after some answer (checked after each one). */
  async waitFor(what: string, until: () => boolean, timeoutMs = 60_000): Promise<void> {
    await this.conditions.until(
      until,
      () => `gave up waiting for ${what} after ${timeoutMs} ms (${this.summary()})`,
      timeoutMs,
    );
  }

  /** Resolves once `n` more publishes than now were accepted. */
  async acceptMore(n: number): Promise<void> {
    const target = this.accepted.length + n;
    await this.waitFor(`${n} more accepted publishes`, () => this.accepted.length >= target);
  }

  /** Stops the loops; resolves once every request in flight has its answer. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  summary(): string {
    const byStatus = new Map<string, number>();
    for (const r of this.requests) byStatus.set(String(r.status), (byStatus.get(String(r.status)) ?? 0) + 1);
    return [...byStatus].map(([s, n]) => `${s}: ${n}`).join(', ');
  }

  private async loop(clients: Array<HeraldEndpoint['request']>): Promise<void> {
    while (!this.stopped) {
      const seq = this.seq++;
      const target = seq % clients.length;
      const startedAt = Date.now();
      let r: LoadRequest;
      try {
        const res = await clients[target]('POST', `/v1/topics/${this.topic}/messages`, { body: { seq } });
        r = {
          seq,
          target,
          startedAt,
          ms: Date.now() - startedAt,
          status: res.status,
          contentType: res.headers.get('content-type') ?? '',
          messageId: res.status === 202 ? (res.body.messageId as string) : null,
          detail: res.status === 202 ? '' : res.text.slice(0, 300),
        };
      } catch (err) {
        const timeout = err instanceof Error && err.name === 'TimeoutError';
        r = {
          seq,
          target,
          startedAt,
          ms: Date.now() - startedAt,
          status: timeout ? 'timeout' : 'error',
          contentType: '',
          messageId: null,
          detail: String(err),
        };
      }
      this.requests.push(r);
      this.conditions.changed();
      // A refused publish is answered at once while Redis is unreachable: do not spin on it.
      if (r.status !== 202) await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/**
 * How often the receiver took each message (by `webhook-id`, the message id for a subscription) with
 * an answer that reached the sender: a 2xx sent on a connection the sender still held.
 */
export function deliveredCounts(receiver: WebhookReceiver): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of receiver.requests) {
    if (r.abandoned || typeof r.answeredWith !== 'number' || r.answeredWith >= 300) continue;
    const id = r.headers['webhook-id'];
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/**
 * Waits until every one of `messageIds` reached the receiver (answered 2xx), and returns how many of
 * them arrived more than once (at least once allows duplicates; they are counted, not hidden).
 */
export async function expectAllDelivered(
  receiver: WebhookReceiver,
  messageIds: readonly string[],
  timeoutMs = 60_000,
): Promise<{ duplicates: number }> {
  await eventually(
    async () => {
      const counts = deliveredCounts(receiver);
      return messageIds.every((id) => counts.has(id));
    },
    `${messageIds.length} messages to be delivered`,
    timeoutMs,
  ).catch(() => undefined);
  const counts = deliveredCounts(receiver);
  const missing = messageIds.filter((id) => !counts.has(id));
  expect(missing, `${missing.length} of ${messageIds.length} accepted messages never delivered`).toEqual([]);
  return { duplicates: messageIds.filter((id) => (counts.get(id) ?? 0) > 1).length };
}

/**
 * Kills `victim` (SIGKILL) under `load`, while `sink` (a slow receiver) holds requests of the
 * workers open so that the victim dies mid-flight, and lets the load go on until 40 more publishes
 * were accepted. Then every publish must have been accepted and every accepted message delivered;
 * and the victim must have died with requests open (the receiver saw their senders go).
 */
export async function killWorkerMidFlight(
  load: PublishLoad,
  sink: WebhookReceiver,
  victim: HeraldProcess,
): Promise<{ accepted: string[]; abandoned: number; duplicates: number }> {
  try {
    await load.acceptMore(40);
    await sink.waitForOpen(8);
    victim.kill('SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');
    // The others go on delivering new messages while the victim's jobs wait for their lock to expire.
    await load.acceptMore(40);
  } finally {
    await load.stop();
  }
  expect(
    load.requests.every((r) => r.status === 202),
    load.summary(),
  ).toBe(true);
  const accepted = load.accepted.map((r) => r.messageId!);
  const { duplicates } = await expectAllDelivered(sink, accepted);
  const abandoned = sink.requests.filter((r) => r.abandoned).length;
  expect(abandoned, 'requests the killed worker left open').toBeGreaterThan(0);
  return { accepted, abandoned, duplicates };
}
