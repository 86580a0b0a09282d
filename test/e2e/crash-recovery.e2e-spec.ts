import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildHerald, type HeraldBuild } from '../support/build';
import { createTestDatabase, eventually, startHerald, type TestHerald } from '../support/herald';
import { HeraldProcess } from '../support/herald-process';
import { WebhookReceiver } from '../support/webhook-receiver';

/**
 * Separate worker processes (the real `npm run start:worker` entry, built) against one PostgreSQL
 * catalog, with the API in this process: a worker killed mid-delivery loses nothing, and a worker
 * told to stop finishes what it is sending first.
 */
describe('worker crash and shutdown (separate processes, PostgreSQL)', () => {
  let build: HeraldBuild;
  let db: { url: string; drop: () => Promise<void> };
  let herald: TestHerald;
  let workDir: string;
  let topicN = 0;

  beforeAll(async () => {
    [build, db] = await Promise.all([buildHerald(), createTestDatabase()]);
    herald = await startHerald('postgres', { DATABASE_URL: db.url, HERALD_ROLES: 'api' });
    workDir = mkdtempSync(join(tmpdir(), 'herald-workers-'));
  });
  afterEach(async () => {
    await HeraldProcess.killAll();
  });
  afterAll(async () => {
    await HeraldProcess.killAll();
    await herald?.close();
    await db?.drop();
    build?.remove();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  /** `node <build>/apps/worker/src/main.js` on the same Redis prefix and catalog as the API. */
  function startWorker(logLevel = 'warn'): HeraldProcess {
    return new HeraldProcess(
      build.workerMain,
      {
        REDIS_URL: inject('redisUrl'),
        DATABASE_URL: db.url,
        HERALD_QUEUE_PREFIX: herald.config.queuePrefix,
        HERALD_DATA_DIR: workDir,
        PUBLIC_BASE_URL: herald.url,
        OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8',
        WORKER_LOCK_DURATION_MS: '2000',
        WORKER_STALLED_INTERVAL_MS: '1000',
        // Several workers run at once: each serves its metrics on a port of its own.
        METRICS_PORT: '0',
        LOG_LEVEL: logLevel,
      },
      { cwd: workDir },
    );
  }

  async function subscribedTopic(receiver: WebhookReceiver): Promise<{ topic: string; subId: string }> {
    const topic = `crash${++topicN}`;
    expect((await herald.request('POST', '/v1/topics', { name: topic })).status).toBe(201);
    const sub = await herald.request('POST', `/v1/topics/${topic}/subscriptions`, {
      protocol: 'webhook',
      endpoint: receiver.urlFor('127.0.0.1', '/hook'),
      skipConfirmation: true,
      deliveryPolicy: { maxAttempts: 5, minDelayMs: 200, maxDelayMs: 1000 },
    });
    expect(sub.status).toBe(201);
    expect(sub.body.status).toBe('active');
    return { topic, subId: sub.body.id as string };
  }

  async function publish(topic: string, body: unknown): Promise<string> {
    const res = await herald.request('POST', `/v1/topics/${topic}/messages`, { body });
    expect(res.status).toBe(202);
    return res.body.messageId as string;
  }

  async function deliveryStatus(messageId: string): Promise<string | undefined> {
    const list = await herald.request('GET', `/v1/messages/${messageId}/deliveries`);
    return list.body?.items?.[0]?.status as string | undefined;
  }

  it(
    'loses nothing when a worker is killed (SIGKILL) with deliveries in flight',
    { timeout: 150_000 },
    async () => {
      const receiver = await new WebhookReceiver().start();
      try {
        const { topic, subId } = await subscribedTopic(receiver);
        const N = 20;
        const HANGING = 5;
        // The first requests never get an answer: those deliveries are in flight when the worker dies.
        receiver.reply(...Array<'hang'>(HANGING).fill('hang'));
        const first = startWorker();
        const messageIds: string[] = [];
        for (let i = 0; i < N; i++) messageIds.push(await publish(topic, { n: i }));

        // Every message has reached the receiver once: HANGING of them are still waiting for an answer.
        const seen = await receiver.waitFor(N);
        expect(seen.filter((r) => r.answeredWith === 'hang')).toHaveLength(HANGING);
        expect(first.running).toBe(true);
        first.kill('SIGKILL');
        expect((await first.exited).signal).toBe('SIGKILL');

        const second = startWorker();
        // Every delivery reaches a final state (a lost one never would), and that state is delivered.
        const deliveries = await eventually(
          async () => {
            const list = await herald.request('GET', `/v1/subscriptions/${subId}/deliveries?limit=1000`);
            const items = (list.body?.items ?? []) as Array<{ messageId: string; status: string }>;
            const final = items.filter((d) => ['delivered', 'dead', 'cancelled'].includes(d.status));
            return final.length === N ? items : undefined;
          },
          `all ${N} deliveries to end`,
          90_000,
        );
        expect(deliveries.map((d) => d.messageId).sort()).toEqual([...messageIds].sort());
        for (const d of deliveries) expect(d.status, d.messageId).toBe('delivered');
        // At least once: every message was answered 200 at least once (the hung ones by the second worker).
        const answered = new Set(
          receiver.requests.filter((r) => r.answeredWith === 200).map((r) => r.headers['webhook-id']),
        );
        expect([...answered].sort()).toEqual([...messageIds].sort());
        const hung = receiver.requests
          .filter((r) => r.answeredWith === 'hang')
          .map((r) => r.headers['webhook-id']);
        for (const id of hung) expect(answered.has(id)).toBe(true);

        const dead = await herald.request('GET', `/v1/dead-letters?topic=${topic}`);
        expect(dead.status).toBe(200);
        expect(dead.body.items).toEqual([]);
        for (const id of messageIds) {
          const message = await herald.request('GET', `/v1/messages/${id}`);
          expect(message.body.counts).toMatchObject({ delivered: 1, failed: 0 });
        }
        expect(await second.stop()).toEqual({ code: 0, signal: null });
      } finally {
        await receiver.stop();
      }
    },
  );

  it('drains on SIGTERM: the in-flight delivery completes and is recorded, then the process exits 0', async () => {
    const receiver = await new WebhookReceiver().start();
    try {
      const { topic } = await subscribedTopic(receiver);
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      // A slow receiver: it answers 200 only when the test says so.
      receiver.reply({ status: 200, after: released });
      const worker = startWorker('info');
      await worker.waitForOutput(/"msg":"herald worker running"/, 'the worker to start');
      const messageId = await publish(topic, 'in flight during shutdown');
      const request = await receiver.next();
      expect(request.headers['webhook-id']).toBe(messageId);

      worker.kill('SIGTERM');
      await worker.waitForOutput(/"msg":"draining workers/, 'the worker to start draining');
      // Draining: the process waits for the answer rather than exiting or abandoning the delivery.
      expect(worker.running).toBe(true);
      release();
      expect(await worker.exited).toEqual({ code: 0, signal: null });
      expect(receiver.requests).toHaveLength(1);

      // No worker runs any more: the outcome was written to the catalog before the process ended.
      expect(await deliveryStatus(messageId)).toBe('delivered');
      const list = await herald.request('GET', `/v1/messages/${messageId}/deliveries`);
      const delivery = await herald.request('GET', `/v1/deliveries/${list.body.items[0].id}`);
      expect(delivery.body.attempts).toHaveLength(1);
      expect(delivery.body.attempts[0]).toMatchObject({ number: 1, outcome: 'delivered', statusCode: 200 });
    } finally {
      await receiver.stop();
    }
  });
});
