import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildHerald, type HeraldBuild } from '../support/build';
import { Conditions } from '../support/conditions';
import { eventually } from '../support/herald';
import { HeraldProcess } from '../support/herald-process';
import { parsePrometheusText } from '../support/prometheus-text';
import { freePort, startPostgres, startRedis, type ControllableServer } from '../support/servers';
import { WebhookReceiver } from '../support/webhook-receiver';

/**
 * Real Redis and PostgreSQL servers hung (SIGSTOP), killed or shut down and started again while a
 * real Herald process (the built `npm start` entry) takes a steady publish load: refusals are timely
 * 503s, Herald recovers by itself, and what was answered 202 — and only that — is delivered.
 */

const ADMIN_KEY = 'outage-admin-key-0123456789abcdef';
/** Herald's default PUBLISH_TIMEOUT_MS, which these tests keep. */
const PUBLISH_TIMEOUT_MS = 2000;
/** A refused publish is answered within PUBLISH_TIMEOUT_MS and this much slack (a busy shared machine). */
const PUBLISH_ANSWER_LIMIT_MS = PUBLISH_TIMEOUT_MS + 500;
/** A catalog read is answered within the 5 s statement timeout and this much slack. */
const READ_ANSWER_LIMIT_MS = 6000;
/** The client gives up after this: an answer never came (Herald hung). */
const CLIENT_TIMEOUT_MS = 8000;
/** Catalog caches fresh for 1 s (CATALOG_CACHE_FRESH_MS, API_KEY_CACHE_FRESH_MS): the outages outlast them. */
const CACHE_FRESH_MS = 1000;

interface Answer {
  /** The request's sequence number (publishes: the `seq` of the body). */
  seq: number;
  /** What was asked (`publish`, `GET /v1/topics`…). */
  kind: string;
  startedAt: number;
  answeredAt: number;
  ms: number;
  status: number | 'timeout' | 'error';
  contentType: string | null;
  retryAfter: string | null;
  messageId: string | null;
  /** The answer's `duplicate` (a keyed publish whose key was seen before), when it has one. */
  duplicate: boolean | null;
  /** The answer's body. */
  text: string;
  detail: string;
}

/** One request with a client timeout; never throws, the outcome is in the answer. */
async function ask(
  base: string,
  key: string,
  kind: string,
  seq: number,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const startedAt = Date.now();
  const answer = (status: Answer['status'], res?: Response, text = ''): Answer => {
    let messageId: string | null = null;
    let duplicate: boolean | null = null;
    try {
      const parsed = JSON.parse(text) as { messageId?: string; duplicate?: boolean };
      messageId = parsed.messageId ?? null;
      duplicate = parsed.duplicate ?? null;
    } catch {
      // not JSON
    }
    const answeredAt = Date.now();
    return {
      seq,
      kind,
      startedAt,
      answeredAt,
      ms: answeredAt - startedAt,
      status,
      contentType: res?.headers.get('content-type') ?? null,
      retryAfter: res?.headers.get('retry-after') ?? null,
      messageId,
      duplicate,
      text,
      detail: text.slice(0, 300),
    };
  };
  try {
    const res = await fetch(base + path, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
    });
    return answer(res.status, res, await res.text());
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    return answer(timedOut ? 'timeout' : 'error', undefined, String(err));
  }
}

/**
 * `workers` loops sending one request after another (a short gap between them), numbered in order,
 * until stopped. `until` waits for a condition on the answers so far, checked as each one arrives.
 */
class Load {
  readonly answers: Answer[] = [];
  private next = 0;
  private running = true;
  private readonly loops: Array<Promise<void>>;
  private readonly conditions = new Conditions();

  constructor(
    private readonly send: (seq: number) => Promise<Answer>,
    workers: number,
    private readonly gapMs: number,
  ) {
    this.loops = Array.from({ length: workers }, () => this.loop());
  }

  private async loop(): Promise<void> {
    while (this.running) {
      this.answers.push(await this.send(this.next++));
      this.conditions.changed();
      await delay(this.gapMs);
    }
  }

  /** Answers of requests started at or after `t` (and answered before `until`, when given). */
  startedFrom(t: number, until = Infinity): Answer[] {
    return this.answers.filter((a) => a.startedAt >= t && a.answeredAt <= until);
  }

  until(test: (answers: Answer[]) => boolean, what: string, timeoutMs = 30_000): Promise<void> {
    return this.conditions.until(
      () => test(this.answers),
      () => `timed out after ${timeoutMs} ms waiting for ${what}: ${summarise(this.answers)}`,
      timeoutMs,
    );
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

/** `{ "202": 120, "503": 14 }` and the slowest answer, for failure messages and the report. */
function summarise(answers: Answer[]): string {
  const counts: Record<string, number> = {};
  for (const a of answers) counts[String(a.status)] = (counts[String(a.status)] ?? 0) + 1;
  return `${JSON.stringify(counts)}, slowest ${maxMs(answers)} ms`;
}

const maxMs = (answers: Answer[]) => answers.reduce((m, a) => Math.max(m, a.ms), 0);
const count = (answers: Answer[], status: Answer['status']) =>
  answers.filter((a) => a.status === status).length;

/** A refusal as promised: 503 problem+json with Retry-After, in time. */
function expectTimely503(a: Answer, limitMs: number): void {
  const where = `${a.kind} #${a.seq}: ${a.status} after ${a.ms} ms ${a.detail}`;
  expect(a.status, where).toBe(503);
  expect(a.contentType, where).toMatch(/^application\/problem\+json/);
  expect(Number(a.retryAfter), where).toBeGreaterThan(0);
  expect(a.ms, where).toBeLessThanOrEqual(limitMs);
}

/** The `seq` of every notification the receiver got (the envelope's body), with its message id. */
function received(receiver: WebhookReceiver): Array<{ seq: number; messageId: string; verified: boolean }> {
  return receiver.requests.map((r) => {
    const envelope = JSON.parse(r.body) as { messageId: string; body: { seq: number } };
    return { seq: envelope.body.seq, messageId: envelope.messageId, verified: r.verified === true };
  });
}

describe('outages: Redis and PostgreSQL stopped and restarted under publish load', () => {
  let build: HeraldBuild;
  const servers: ControllableServer[] = [];
  const receivers: WebhookReceiver[] = [];
  const dirs: string[] = [];
  const report: string[] = [];
  const procs: HeraldProcess[] = [];

  beforeAll(async () => {
    build = await buildHerald();
  });
  afterEach(async (context) => {
    // What Herald logged (warnings and errors: LOG_LEVEL=warn), when a test failed.
    const failed = context.task.result?.state === 'fail';
    for (const p of procs.splice(0)) if (failed) console.info(`Herald's output:\n${p.output.slice(-6000)}`);
    await HeraldProcess.killAll();
    await Promise.all(receivers.splice(0).map((r) => r.stop()));
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });
  afterAll(() => {
    build?.remove();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    // The figures the issue asks for, in the test output.
    if (report.length > 0) console.info(`outage figures:\n  ${report.join('\n  ')}`);
  });

  /**
   * A webhook receiver that verifies every request (standardwebhooks) with the secrets in `secrets`:
   * the subscription's, once it has been created.
   */
  async function signedReceiver(): Promise<{ receiver: WebhookReceiver; secrets: string[] }> {
    const secrets: string[] = [];
    const receiver = await new WebhookReceiver({ secrets }).start();
    receivers.push(receiver);
    return { receiver, secrets };
  }

  /** `node <build>/apps/api/src/main.js` (API and workers in one process); resolves once ready. */
  async function startHerald(env: Record<string, string>): Promise<{ proc: HeraldProcess; url: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'herald-outage-'));
    dirs.push(dir);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const proc = new HeraldProcess(
      build.apiMain,
      {
        PORT: String(port),
        PUBLIC_BASE_URL: url,
        ADMIN_API_KEY: ADMIN_KEY,
        HERALD_DATA_DIR: dir,
        HERALD_QUEUE_PREFIX: `{out${randomBytes(4).toString('hex')}}`,
        OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8',
        WEBHOOK_HEADERS_TIMEOUT_MS: '2000',
        WEBHOOK_BODY_TIMEOUT_MS: '2000',
        // A job whose worker lost Redis mid-delivery runs again within seconds, not 30 s.
        WORKER_LOCK_DURATION_MS: '2000',
        WORKER_STALLED_INTERVAL_MS: '1000',
        LOG_LEVEL: 'warn',
        LOG_FORMAT: 'json',
        ...env,
      },
      { cwd: dir },
    );
    procs.push(proc);
    await proc.ready(url);
    return { proc, url };
  }

  async function admin(url: string, method: string, path: string, body?: unknown) {
    const a = await ask(url, ADMIN_KEY, 'setup', 0, method, path, body);
    return { status: a.status, body: JSON.parse(a.text || 'null') };
  }

  async function topicWithWebhook(url: string, topic: string, receiver: WebhookReceiver, secrets: string[]) {
    expect((await admin(url, 'POST', '/v1/topics', { name: topic })).status).toBe(201);
    const sub = await admin(url, 'POST', `/v1/topics/${topic}/subscriptions`, {
      protocol: 'webhook',
      endpoint: receiver.urlFor('127.0.0.1', '/hook'),
      skipConfirmation: true,
      deliveryPolicy: { maxAttempts: 100, minDelayMs: 100, maxDelayMs: 1000 },
    });
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);
    expect(sub.body.status).toBe('active');
    secrets.push(sub.body.secret as string);
  }

  /** Publishes `{ seq }`, with the `Idempotency-Key` `keyPrefix` + seq when a prefix is given. */
  function publishSeq(url: string, topic: string, key: string, seq: number, keyPrefix?: string) {
    const headers: Record<string, string> = keyPrefix ? { 'idempotency-key': `${keyPrefix}${seq}` } : {};
    return ask(url, key, 'publish', seq, 'POST', `/v1/topics/${topic}/messages`, { body: { seq } }, headers);
  }

  /** Four publishers, each publishing `{ seq }` then the next, 20 ms apart. */
  function publishLoad(url: string, topic: string, key: string, keyPrefix?: string): Load {
    return new Load((seq) => publishSeq(url, topic, key, seq, keyPrefix), 4, 20);
  }

  /**
   * A private Redis that keeps what it acknowledged (AOF), Herald on it with a signed webhook
   * subscription to `topic`, and the publish load on it (keyed when `keyPrefix` is given), once it has
   * had 40 publishes accepted.
   */
  async function publishingOnDurableRedis(topic: string, keyPrefix?: string) {
    const redis = await startRedis({ durable: true });
    servers.push(redis);
    const { receiver, secrets } = await signedReceiver();
    const { proc, url } = await startHerald({ REDIS_URL: redis.url });
    await topicWithWebhook(url, topic, receiver, secrets);
    const load = publishLoad(url, topic, ADMIN_KEY, keyPrefix);
    await load.until((a) => count(a, 202) >= 40, '40 publishes accepted before the outages');
    return { redis, receiver, proc, url, load };
  }

  /**
   * One Redis outage under `load`: `stop`, then at least `minMs` and eight answers, then `start`, then
   * 20 publishes accepted again. Every publish started during it must be a timely 503.
   */
  async function redisOutage(
    load: Load,
    what: string,
    stop: () => Promise<void>,
    start: () => Promise<void>,
    minMs = 0,
  ) {
    const from = Date.now();
    await stop();
    await Promise.all([
      delay(minMs),
      load.until(
        () => load.startedFrom(from).length >= 8,
        `eight publishes answered while Redis is ${what}`,
        20_000,
      ),
    ]);
    const endingAt = Date.now();
    await start();
    await load.until(
      () => count(load.startedFrom(endingAt), 202) >= 20,
      `publishes accepted again after Redis was ${what}`,
    );
    const during = load.startedFrom(from, endingAt);
    for (const a of during) expectTimely503(a, PUBLISH_ANSWER_LIMIT_MS);
    expect(count(during, 503)).toBeGreaterThanOrEqual(8);
    const recoveredMs = load.startedFrom(endingAt).find((a) => a.status === 202)!.answeredAt - endingAt;
    return { from, ms: endingAt - from, during, recoveredMs };
  }

  /**
   * Under `load`: Redis hung (SIGSTOP) and resumed, then killed (SIGKILL) for at least 3 s and started
   * again on its port and AOF; then the load stops. Every refusal, around the outages too, was a timely
   * 503: none hung, none was a 500.
   */
  async function redisOutages(redis: ControllableServer, load: Load) {
    // a. Redis hangs: connections stay open, nothing is answered.
    const hung = await redisOutage(
      load,
      'hung',
      () => redis.pause(),
      () => redis.resume(),
    );
    // b. Redis is killed, then started again on the same port and data folder.
    const down = await redisOutage(
      load,
      'down',
      () => redis.kill('SIGKILL'),
      () => redis.restart(),
      3000,
    );
    await load.stop();
    for (const a of load.answers) if (a.status !== 202) expectTimely503(a, PUBLISH_ANSWER_LIMIT_MS);
    const summary =
      `hung (SIGSTOP ${hung.ms} ms): ${summarise(hung.during)}, accepted again ${hung.recoveredMs} ms after SIGCONT; ` +
      `killed (${down.ms} ms): ${summarise(down.during)}, accepted again ${down.recoveredMs} ms after the restart began`;
    return { outagesFrom: [hung.from, down.from], summary };
  }

  /**
   * The ids among `ids` whose `GET /v1/messages/{id}` does not (yet) say delivered, as `id status`;
   * eight requests at a time.
   */
  async function notDelivered(url: string, ids: string[]): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < ids.length; i += 8) {
      const answers = await Promise.all(
        ids.slice(i, i + 8).map((id) => admin(url, 'GET', `/v1/messages/${id}`)),
      );
      answers.forEach((m, j) => {
        if (m.status !== 200 || m.body.status !== 'delivered' || m.body.counts.pending !== 0)
          out.push(`${ids[i + j]} ${m.status} ${m.body?.status}`);
      });
    }
    return out;
  }

  /**
   * What is left to deliver or record: jobs in the queues (but failed ones) and outcomes waiting for
   * the catalog, as `["deliver-webhook/delayed=3", …]`; empty once drained.
   */
  async function leftToDo(url: string): Promise<string[]> {
    const res = await fetch(`${url}/metrics`);
    if (res.status !== 200) return [`/metrics answered ${res.status}`];
    const samples = parsePrometheusText(await res.text());
    if (!samples.some((s) => s.name === 'herald_catalog_backlog')) return ['no herald_catalog_backlog'];
    return samples
      .filter(
        (s) =>
          (s.name === 'herald_queue_jobs' && s.labels.state !== 'failed' && s.value > 0) ||
          (s.name === 'herald_catalog_backlog' && s.value > 0),
      )
      .map((s) => `${s.labels.queue ?? 'catalog backlog'}/${s.labels.state ?? ''}=${s.value}`);
  }

  /**
   * Once the load has stopped: every seq answered 202 reaches the receiver (signed), the queues and
   * the catalog backlog drain and the catalog says delivered for each accepted message; by then no seq
   * that was refused (or not answered) has been delivered, with one exception, counted: a publish
   * whose commit was in flight at the instant an outage began (`outagesFrom`), which Redis may have
   * applied just before it stopped answering (README, "Refused means not published"). Returns the
   * duplicates seen and those in-doubt deliveries.
   */
  async function expectAcceptedDeliveredOnly(
    url: string,
    load: Pick<Load, 'answers'>,
    receiver: WebhookReceiver,
    outagesFrom: number[] = [],
  ): Promise<{ duplicates: number; inDoubtDelivered: number }> {
    const accepted = new Map(load.answers.filter((a) => a.status === 202).map((a) => [a.seq, a.messageId!]));
    const refused = new Map(load.answers.filter((a) => a.status !== 202).map((a) => [a.seq, a]));
    const inDoubt = (a: Answer) => outagesFrom.some((t) => a.startedAt < t && t <= a.answeredAt);
    await eventually(
      async () => {
        const seen = new Set(received(receiver).map((r) => r.seq));
        return [...accepted.keys()].every((seq) => seen.has(seq));
      },
      `all ${accepted.size} accepted messages to reach the receiver`,
      60_000,
    );
    let left: string[] = [];
    let undelivered = [...accepted.values()];
    await eventually(
      async () => {
        left = await leftToDo(url);
        if (left.length > 0) return false;
        undelivered = await notDelivered(
          url,
          undelivered.map((u) => u.split(' ')[0]),
        );
        return undelivered.length === 0;
      },
      'queues and the catalog backlog to drain, every accepted message recorded as delivered',
      60_000,
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}; left: ${left.join(', ')}; not delivered: ${undelivered.slice(0, 10).join(', ')}`,
      );
    });
    const got = received(receiver);
    expect(got.filter((r) => !r.verified)).toEqual([]);
    const notAccepted = got.filter((r) => !accepted.has(r.seq));
    const ghosts = notAccepted
      .map((r) => ({ ...r, answer: refused.get(r.seq) }))
      .filter((r) => !r.answer || !inDoubt(r.answer));
    expect(ghosts, 'delivered although not answered 202').toEqual([]);
    for (const r of got.filter((g) => accepted.has(g.seq)))
      expect(r.messageId, `seq ${r.seq}`).toBe(accepted.get(r.seq));
    return {
      duplicates: got.length - new Set(got.map((r) => r.seq)).size,
      inDoubtDelivered: new Set(notAccepted.map((r) => r.seq)).size,
    };
  }

  it(
    'Redis hung (SIGSTOP) and killed (SIGKILL, restarted on its port and AOF): 503s in time, recovery by itself, every 202 delivered and nothing refused during the outage',
    { timeout: 120_000 },
    async () => {
      const { redis, receiver, proc, url, load } = await publishingOnDurableRedis('redis-outage');
      // The private Redis keeps what it acknowledged: no durability warning at start.
      expect(proc.logLines.filter((l) => /appendonly|maxmemory-policy/.test(String(l.msg)))).toEqual([]);
      const outages = await redisOutages(redis, load);
      expect(proc.running).toBe(true);

      const { duplicates, inDoubtDelivered } = await expectAcceptedDeliveredOnly(
        url,
        load,
        receiver,
        outages.outagesFrom,
      );
      const refusals = load.answers.filter((a) => a.status !== 202);
      report.push(
        `Redis: ${load.answers.length} publishes: ${summarise(load.answers)}; ${outages.summary}; ` +
          `slowest refusal ${maxMs(refusals)} ms; duplicates delivered ${duplicates}; ` +
          `refused and delivered: ${inDoubtDelivered}, each in flight as an outage began, none started during one`,
      );
    },
  );

  it(
    'Redis hung and killed under keyed publishes: each publish refused with a 503 and retried with its Idempotency-Key is delivered once, as the message its retry names',
    { timeout: 120_000 },
    async () => {
      const topic = 'redis-outage-keyed';
      const keyPrefix = `seq-${randomBytes(4).toString('hex')}-`;
      const { redis, receiver, proc, url, load } = await publishingOnDurableRedis(topic, keyPrefix);
      const outages = await redisOutages(redis, load);
      expect(proc.running).toBe(true);
      // With keys, too: what was refused is not delivered, but for a commit in flight as an outage began.
      await expectAcceptedDeliveredOnly(url, load, receiver, outages.outagesFrom);

      // The client does what a 503 asks: the same request again, with the same key.
      const refused = load.answers.filter((a) => a.status !== 202);
      const deliveredBefore = new Map(received(receiver).map((r) => [r.seq, r.messageId]));
      const retries: Answer[] = [];
      for (const a of refused) retries.push(await publishSeq(url, topic, ADMIN_KEY, a.seq, keyPrefix));
      for (const r of retries) expect(r.status, `retry of #${r.seq}: ${r.detail}`).toBe(202);
      // A publish Redis applied before it stopped answering comes back as that message, not a new one.
      const appliedBefore = retries.filter((r) => deliveredBefore.has(r.seq));
      for (const r of appliedBefore) {
        expect(r.duplicate, `retry of #${r.seq}`).toBe(true);
        expect(r.messageId, `retry of #${r.seq}`).toBe(deliveredBefore.get(r.seq));
      }

      // Now every seq was answered 202 once: each reaches the receiver as the message that answer named.
      const answered = [...load.answers.filter((a) => a.status === 202), ...retries];
      const { duplicates } = await expectAcceptedDeliveredOnly(url, { answers: answered }, receiver);
      const got = received(receiver);
      expect(new Set(got.map((r) => r.seq)).size).toBe(load.answers.length);
      expect(new Set(got.map((r) => r.messageId)).size).toBe(load.answers.length);
      report.push(
        `Redis, keyed publishes: ${load.answers.length} publishes, ${refused.length} refused and retried with their key ` +
          `(${count(retries, 202)} answered 202, ${retries.filter((r) => r.duplicate).length} of them duplicate: true; ` +
          `${appliedBefore.length} had been applied just before Redis stopped answering and were delivered once, ` +
          `as the message their retry named); one message per publish; redeliveries of a message ${duplicates}`,
      );
    },
  );

  it(
    'PostgreSQL shut down and paused: publishes to a known topic keep answering 202, reads answer 503 in time, everything is delivered and recorded after',
    { timeout: 120_000 },
    async () => {
      const pg = await startPostgres();
      servers.push(pg);
      const { receiver, secrets } = await signedReceiver();
      const { url } = await startHerald({
        REDIS_URL: inject('redisUrl'),
        DATABASE_URL: pg.url,
        CATALOG_CACHE_FRESH_MS: String(CACHE_FRESH_MS),
        API_KEY_CACHE_FRESH_MS: String(CACHE_FRESH_MS),
      });
      const topic = 'pg-outage';
      await topicWithWebhook(url, topic, receiver, secrets);
      // A publish-only key from the catalog (the admin key is never read from it): it must keep working.
      const created = await admin(url, 'POST', '/v1/api-keys', {
        name: 'publisher',
        scopes: ['publish'],
        topics: [topic],
      });
      expect(created.status).toBe(201);
      const load = publishLoad(url, topic, created.body.key as string);
      await load.until((a) => count(a, 202) >= 40, '40 publishes accepted before the outages');
      const known = load.answers.find((a) => a.status === 202)!.messageId!;
      await eventually(async () => receiver.requests.length > 0, 'the first delivery');

      /** Two readers of the catalog, alternating a list of topics and one message. */
      const readLoad = () =>
        new Load(
          (seq) =>
            seq % 2 === 0
              ? ask(url, ADMIN_KEY, 'GET /v1/topics', seq, 'GET', '/v1/topics')
              : ask(url, ADMIN_KEY, 'GET /v1/messages/{id}', seq, 'GET', `/v1/messages/${known}`),
          2,
          50,
        );
      /** Each kind of read answered at least twice since `t`. */
      const readsOfEachKind = (reads: Load, t: number) => () =>
        ['GET /v1/topics', 'GET /v1/messages/{id}'].every(
          (kind) => reads.startedFrom(t).filter((a) => a.kind === kind).length >= 2,
        );
      const outages: Array<{ name: string; reads: Answer[]; ms: number; recoveredMs: number }> = [];

      for (const outage of ['shut down (SIGINT)', 'paused (SIGSTOP)']) {
        const from = Date.now();
        if (outage.startsWith('shut')) await pg.kill('SIGINT');
        else await pg.pause();
        const reads = readLoad();
        // Longer than the caches stay fresh (three times over), and long enough to read twice of each.
        await Promise.all([
          delay(3 * CACHE_FRESH_MS),
          reads.until(readsOfEachKind(reads, from), 'reads answered during the outage', 40_000),
        ]);
        const endingAt = Date.now();
        if (outage.startsWith('shut')) await pg.restart();
        else await pg.resume();
        await reads.until(
          () => reads.startedFrom(endingAt).some((a) => a.status === 200),
          'a read answered 200 after the outage',
          30_000,
        );
        await reads.stop();
        const during = reads.startedFrom(from, endingAt);
        const recoveredMs = reads.startedFrom(endingAt).find((a) => a.status === 200)!.answeredAt - endingAt;
        for (const a of during) expectTimely503(a, READ_ANSWER_LIMIT_MS);
        outages.push({ name: outage, reads: during, ms: endingAt - from, recoveredMs });
        // Publishing went on throughout.
        expect(count(load.startedFrom(from), 202)).toBeGreaterThan(0);
      }
      const lastEnd = Date.now();
      await load.until(() => count(load.startedFrom(lastEnd), 202) >= 20, 'publishes after the outages');
      await load.stop();

      // Every publish, during both outages too, was accepted.
      const notAccepted = load.answers.filter((a) => a.status !== 202);
      expect(notAccepted.map((a) => `#${a.seq} ${a.status} ${a.ms} ms ${a.detail}`)).toEqual([]);

      // Delivered and recorded: the receiver got them all, and the catalog says delivered for each.
      const catchUpFrom = Date.now();
      const { duplicates } = await expectAcceptedDeliveredOnly(url, load, receiver);
      const recordedMs = Date.now() - catchUpFrom;
      report.push(
        `PostgreSQL: ${load.answers.length} publishes: ${summarise(load.answers)}; ` +
          outages
            .map(
              (o) =>
                `${o.name} ${o.ms} ms: reads ${summarise(o.reads)}, reads 200 again ${o.recoveredMs} ms after`,
            )
            .join('; ') +
          `; all delivered and recorded ${recordedMs} ms after the load stopped; duplicates delivered ${duplicates}`,
      );
    },
  );
});
