import Redis from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildHerald, type HeraldBuild } from '../support/build';
import { ADMIN_KEY, eventually, heraldEndpoint } from '../support/herald';
import { createTopic, publish, settledCounts, subscribe } from '../support/herald-api';
import { HeraldProcess } from '../support/herald-process';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text';
import { freePort } from '../support/servers';
import { WebhookReceiver } from '../support/webhook-receiver';

/**
 * `npm start` for real: the built API entry with the workers inside, the embedded catalog in the
 * data folder, no ADMIN_API_KEY and no DATABASE_URL.
 */
describe('one-process mode (npm start)', () => {
  let build: HeraldBuild;
  const dirs: string[] = [];

  beforeAll(async () => {
    build = await buildHerald();
  });
  afterEach(async () => {
    await HeraldProcess.killAll();
  });
  afterAll(async () => {
    await HeraldProcess.killAll();
    build?.remove();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  function dataDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'herald-one-process-'));
    dirs.push(dir);
    return dir;
  }

  /** `node <build>/apps/api/src/main.js` with only these settings (and PATH). */
  function start(env: Record<string, string>, cwd: string): HeraldProcess {
    return new HeraldProcess(
      build.apiMain,
      { HERALD_QUEUE_PREFIX: `{op${randomBytes(4).toString('hex')}}`, ...env },
      { cwd },
    );
  }

  it('serves with a generated admin key, refuses a second process on the same data folder, and exits 0 on SIGTERM', async () => {
    const data = dataDir();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const herald = start({ HERALD_DATA_DIR: data, PORT: String(port), REDIS_URL: inject('redisUrl') }, data);
    await herald.ready(url);
    await herald.waitForOutput(/"msg":"herald is running"/, 'the start-up log line');

    // The generated admin key: kept in <data>/admin-api-key, and it works.
    const keyFile = join(data, 'admin-api-key');
    expect(existsSync(keyFile)).toBe(true);
    const key = readFileSync(keyFile, 'utf8').trim();
    expect(key).toMatch(/^hk_[A-Za-z0-9_-]{20,}$/);
    const topics = await fetch(`${url}/v1/topics`, { headers: { authorization: `Bearer ${key}` } });
    expect(topics.status).toBe(200);
    expect(await topics.json()).toEqual({ items: [], nextCursor: null });
    const wrong = await fetch(`${url}/v1/topics`, { headers: { authorization: `Bearer ${key}x` } });
    expect(wrong.status).toBe(401);

    // Printed once to the terminal, never in a structured log line.
    await herald.waitForOutput(new RegExp(key), 'the generated key to be printed');
    const logLines = herald.stdout.split('\n').filter((line) => line.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) {
      expect(() => JSON.parse(line)).not.toThrow();
      expect(line).not.toContain(key);
    }
    expect(herald.stdout.split(key)).toHaveLength(2);
    expect(herald.stderr).not.toContain(key);
    // The workers started (on their thread, whose buffered log lines may come after the API's).
    await herald.waitForOutput(/"msg":"workers started"/, "the workers' start-up log line");
    // At start it says whether the Redis in use keeps accepted messages (the test Redis has no AOF).
    const redis = new Redis(inject('redisUrl'));
    const [, appendonly] = await redis.config('GET', 'appendonly');
    redis.disconnect();
    const aofWarnings = herald.logLines.filter((l) => l.level === 40 && /appendonly no/.test(String(l.msg)));
    expect(aofWarnings).toHaveLength(appendonly === 'yes' ? 0 : 1);

    // A second process on the same embedded catalog is refused with a message that says what to do.
    const second = start(
      { HERALD_DATA_DIR: data, PORT: String(await freePort()), REDIS_URL: inject('redisUrl') },
      data,
    );
    const refused = await second.exited;
    expect(refused.code).not.toBe(0);
    expect(refused.code).not.toBeNull();
    expect(second.output).toMatch(/embedded catalog at .* is already open in process \d+/);
    expect(second.output).toContain(`process ${herald.pid}`);
    expect(second.output).toMatch(/HERALD_ROLES=api,worker/);
    expect(second.output).toMatch(/DATABASE_URL=postgres/);
    expect(second.output).not.toContain(key);
    // The first one is unharmed.
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    // Graceful stop: exit code 0, the catalog's lock released for the next start.
    expect(existsSync(join(data, 'catalog', 'herald.lock'))).toBe(true);
    expect(await herald.stop()).toEqual({ code: 0, signal: null });
    expect(existsSync(join(data, 'catalog', 'herald.lock'))).toBe(false);
    expect(herald.output).not.toMatch(/"level":(50|60)/); // no error or fatal log line on the way
  });

  // The workers run on a thread of their own by default (HERALD_WORKER_THREADS=1), or on the API's
  // event loop (0): either way a message is delivered, signed, recorded and counted in the API's /metrics.
  it.each([
    { threads: '1', where: 'on a worker thread' },
    { threads: '2', where: 'on two worker threads' },
    { threads: '0', where: "on the API's event loop" },
  ])('delivers $where and counts it in /metrics (HERALD_WORKER_THREADS=$threads)', async ({ threads }) => {
    const receiver = await new WebhookReceiver().start();
    try {
      const data = dataDir();
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const herald = start(
        {
          HERALD_DATA_DIR: data,
          PORT: String(port),
          REDIS_URL: inject('redisUrl'),
          ADMIN_API_KEY: ADMIN_KEY,
          OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8',
          HERALD_WORKER_THREADS: threads,
        },
        data,
      );
      await herald.ready(url);
      await herald.waitForOutput(/"msg":"herald is running"/, 'the start-up log line');
      const count = Math.max(1, Number(threads));
      // Each thread buffers its own log lines: the worker threads' may come after the API's.
      const started = Array.from({ length: count }, () => '"msg":"workers started"').join('[\\s\\S]*');
      await herald.waitForOutput(new RegExp(started), "the workers' start-up log lines");
      const api = heraldEndpoint(url);
      const workersStarted = herald.logLines.filter((l) => l.msg === 'workers started');
      expect(workersStarted.map((l) => l.thread).sort()).toEqual(
        threads === '0' ? [undefined] : Array.from({ length: count }, (_, i) => `worker-${i}`),
      );

      const topic = await createTopic(api, 'threaded');
      const sub = await subscribe(api, topic, {
        protocol: 'webhook',
        endpoint: receiver.urlFor('127.0.0.1', '/hook'),
        skipConfirmation: true,
      });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await publish(api, topic, { body: { i } }));
      const received = await receiver.waitFor(5);
      const bodies = received.map((r) => (JSON.parse(r.body) as { body: { i: number } }).body.i);
      expect(bodies.sort()).toEqual([0, 1, 2, 3, 4]);
      for (const r of received) expect(() => new Webhook(sub.secret).verify(r.body, r.headers)).not.toThrow();
      for (const id of ids) expect(await settledCounts(api, id)).toMatchObject({ delivered: 1, pending: 0 });

      // The delivery counter lives where the deliveries are made; the API's scrape adds it up once.
      const delivered = await eventually(async () => {
        const text = await (await fetch(`${url}/metrics`)).text();
        const samples = parsePrometheusText(text);
        const n = sampleValue(samples, 'herald_deliveries_total', {
          protocol: 'webhook',
          outcome: 'delivered',
        });
        return n === 5 ? samples : undefined;
      }, '5 deliveries counted in /metrics');
      expect(sampleValue(delivered, 'herald_messages_published_total')).toBe(5);
      expect(delivered.filter((s) => s.name === 'herald_process_resident_memory_bytes')).toHaveLength(1);
      expect(sampleValue(delivered, 'herald_dead_letters')).toBe(0);

      expect(await herald.stop()).toEqual({ code: 0, signal: null });
      expect(existsSync(join(data, 'catalog', 'herald.lock'))).toBe(false);
      expect(herald.output).not.toMatch(/"level":(50|60)/);
    } finally {
      await receiver.stop();
    }
  });

  it('exits non-zero naming the Redis it could not reach, without its password', async () => {
    const data = dataDir();
    const closedPort = await freePort();
    const herald = start(
      {
        HERALD_DATA_DIR: data,
        PORT: String(await freePort()),
        REDIS_URL: `redis://:secretpw@127.0.0.1:${closedPort}`,
      },
      data,
    );
    const exit = await herald.exited;
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(herald.output).toContain(`127.0.0.1:${closedPort}`);
    expect(herald.output).toMatch(/does not answer/);
    expect(herald.output).toMatch(/REDIS_URL/);
    expect(herald.output).not.toContain('secretpw');
    // Nothing was started: no catalog and no admin key were created.
    expect(existsSync(join(data, 'catalog'))).toBe(false);
  });
});
