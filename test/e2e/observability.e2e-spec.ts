import { loadConfig } from '@herald/config';
import { startWorkerApp } from '@herald/delivery';
import { OperationsServer } from '@herald/runtime';
import type { INestApplicationContext } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN_KEY, eventually, startHerald, type TestHerald } from '../support/herald';
import { createTopic, deadLettersOf, publish, settledCounts, subscribe } from '../support/herald-api';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text';
import { freePort } from '../support/servers';
import { WebhookReceiver } from '../support/webhook-receiver';

/** Herald's log lines, as pino wrote them, kept for the assertions. */
function capturedLogger(level = 'info') {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const logger = pino(
    { level },
    {
      write(line: string) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  return { logger, lines, raw };
}

interface GrafanaPanel {
  type: string;
  datasource: { uid: string };
  targets: Array<{ expr: string; datasource: { uid: string } }>;
}

async function scrape(url: string) {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  const text = await res.text();
  return { text, samples: parsePrometheusText(text) };
}

async function createKey(herald: TestHerald, scopes: string[], topics?: string[]) {
  const res = await herald.request('POST', '/v1/api-keys', { name: `k-${scopes.join('-')}`, scopes, topics });
  expect(res.status).toBe(201);
  return res.body as { id: string; key: string };
}

describe('metrics, logs and the queue dashboard (one process, embedded catalog)', () => {
  let herald: TestHerald;
  const log = capturedLogger();
  // Each receiver verifies with the secret of the subscription made for it (pushed once known).
  const secrets = new Map<WebhookReceiver, string[]>();
  const receiver = () => {
    const own: string[] = [];
    const r = new WebhookReceiver({ secrets: own });
    secrets.set(r, own);
    return r;
  };
  const receivers = {
    ok: receiver(),
    failing: receiver().answerByDefault(503),
    refusing: receiver().answerByDefault(400),
  };
  const consoleDir = mkdtempSync(join(tmpdir(), 'herald-no-console-'));

  beforeAll(async () => {
    await Promise.all(Object.values(receivers).map((r) => r.start()));
    herald = await startHerald('sqlite', {}, { logger: log.logger, consoleDir });
  });
  afterAll(async () => {
    await herald?.close();
    await Promise.all(Object.values(receivers).map((r) => r.stop()));
    rmSync(consoleDir, { recursive: true, force: true });
  });

  /** A skip-confirmation webhook subscription whose receiver verifies with its secret. */
  async function subscribeReceiver(topic: string, receiver: WebhookReceiver): Promise<string> {
    const sub = await subscribe(herald, topic, {
      protocol: 'webhook',
      endpoint: receiver.urlFor('127.0.0.1', '/hook'),
      skipConfirmation: true,
      deliveryPolicy: { maxAttempts: 2, minDelayMs: 100, maxDelayMs: 200 },
    });
    secrets.get(receiver)!.push(sub.secret as string);
    return sub.id as string;
  }

  it('counts every delivery outcome, publish, dead letters and requests, with no unbounded label', async () => {
    const topic = await createTopic(herald, `obs-${randomBytes(3).toString('hex')}`);
    const okSub = await subscribeReceiver(topic, receivers.ok);
    const failingSub = await subscribeReceiver(topic, receivers.failing);
    const refusingSub = await subscribeReceiver(topic, receivers.refusing);

    const messageId = await publish(herald, topic, { body: { n: 1 } });
    const repeat = await herald.request(
      'POST',
      `/v1/topics/${topic}/messages`,
      { body: { n: 1 } },
      { headers: { 'idempotency-key': 'once' } },
    );
    expect(repeat.status).toBe(202);
    const again = await herald.request(
      'POST',
      `/v1/topics/${topic}/messages`,
      { body: { n: 1 } },
      { headers: { 'idempotency-key': 'once' } },
    );
    expect(again.body.duplicate).toBe(true);
    for (const id of [messageId, repeat.body.messageId as string]) {
      expect(await settledCounts(herald, id)).toMatchObject({ delivered: 1, failed: 2, pending: 0 });
    }
    await deadLettersOf(herald, failingSub, 2);
    await deadLettersOf(herald, refusingSub, 2);
    // Real answers, verified by the receivers: 2 messages × (1 + 2 + 1) attempts.
    expect(receivers.ok.requests.map((r) => r.verified)).toEqual([true, true]);
    expect(receivers.failing.requests.filter((r) => r.answeredWith === 503)).toHaveLength(4);
    expect(receivers.refusing.requests.filter((r) => r.answeredWith === 400)).toHaveLength(2);

    const { text, samples } = await eventually(async () => {
      const s = await scrape(herald.url);
      const ready =
        sampleValue(s.samples, 'herald_dead_letters') === 4 &&
        sampleValue(s.samples, 'herald_catalog_backlog') === 0;
      return ready ? s : undefined;
    }, 'herald_dead_letters 4 and an empty catalog backlog');
    const webhook = { protocol: 'webhook' };
    expect(sampleValue(samples, 'herald_messages_published_total')).toBe(2);
    expect(sampleValue(samples, 'herald_deliveries_total', { ...webhook, outcome: 'delivered' })).toBe(2);
    expect(sampleValue(samples, 'herald_deliveries_total', { ...webhook, outcome: 'retry' })).toBe(2);
    expect(sampleValue(samples, 'herald_deliveries_total', { ...webhook, outcome: 'dead' })).toBe(2);
    expect(sampleValue(samples, 'herald_deliveries_total', { ...webhook, outcome: 'failed' })).toBe(2);
    expect(sampleValue(samples, 'herald_delivery_attempt_duration_seconds_count', webhook)).toBe(8);
    expect(sampleValue(samples, 'herald_delivery_latency_seconds_count', webhook)).toBe(2);
    expect(sampleValue(samples, 'herald_delivery_latency_seconds_sum', webhook)).toBeGreaterThan(0);
    expect(sampleValue(samples, 'herald_delivery_latency_seconds_bucket', { ...webhook, le: '+Inf' })).toBe(
      2,
    );
    expect(
      sampleValue(samples, 'herald_queue_jobs', { queue: 'deliver-webhook', state: 'waiting' }),
    ).toBeGreaterThanOrEqual(0);
    expect(sampleValue(samples, 'herald_process_cpu_user_seconds_total')).toBeGreaterThan(0);

    const publishes = { method: 'POST', route: '/v1/topics/:name/messages', status: '202' };
    expect(sampleValue(samples, 'herald_http_requests_total', publishes)).toBe(3);
    expect(sampleValue(samples, 'herald_http_request_duration_seconds_count', publishes)).toBe(3);
    expect(
      sampleValue(samples, 'herald_http_requests_total', {
        method: 'GET',
        route: '/v1/messages/:id',
        status: '200',
      }),
    ).toBeGreaterThanOrEqual(2);

    // Bounded labels only: no topic, subscription, message, endpoint or raw path anywhere.
    for (const unbounded of [
      topic,
      okSub,
      failingSub,
      refusingSub,
      messageId,
      '127.0.0.1',
      `/v1/topics/${topic}`,
    ]) {
      expect(text).not.toContain(unbounded);
    }
    const routes = new Set(samples.filter((s) => s.labels.route).map((s) => s.labels.route));
    for (const route of routes) expect(route).not.toMatch(/msg_|sub_|dlv_|obs-/);
  });

  it('logs requests at info but not the probes, nor Nest’s route mapping', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics'])
      expect((await fetch(herald.url + path)).status).toBe(200);
    expect((await herald.request('GET', '/v1/topics')).status).toBe(200);
    await eventually(
      async () => log.lines.some((l) => l.msg === 'request' && l.route === '/v1/topics'),
      'the log line',
    );
    const requestRoutes = log.lines.filter((l) => l.msg === 'request').map((l) => l.route);
    expect(requestRoutes).not.toContain('/healthz');
    expect(requestRoutes).not.toContain('/readyz');
    expect(requestRoutes).not.toContain('/metrics');
    expect(log.lines.some((l) => /Mapped \{/.test(String(l.msg)))).toBe(false);
    expect(log.lines.some((l) => l.msg === 'workers started')).toBe(true);
  });

  it('admits only an unlimited admin key to Bull Board, by Bearer key or by the console’s session', async () => {
    const reader = await createKey(herald, ['read']);
    const limitedAdmin = await createKey(herald, ['admin'], ['elsewhere']);

    const anonymous = await fetch(`${herald.url}/admin/queues`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toContain('application/problem+json');
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect((await fetch(`${herald.url}/admin/queues/api/queues`)).status).toBe(401);
    const bogus = await fetch(`${herald.url}/admin/queues`, { headers: { cookie: 'herald_admin=forged' } });
    expect(bogus.status).toBe(401);
    for (const key of [reader.key, limitedAdmin.key]) {
      const res = await fetch(`${herald.url}/admin/queues`, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(403);
    }

    const page = await fetch(`${herald.url}/admin/queues`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('<base href="/admin/queues/"');
    const api = await fetch(`${herald.url}/admin/queues/api/queues`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(api.status).toBe(200);
    const names = ((await api.json()) as { queues: Array<{ name: string }> }).queues
      .map((q) => q.name)
      .sort();
    expect(names).toEqual(['deliver-email', 'deliver-function', 'deliver-sms', 'deliver-webhook', 'fanout']);

    // The console's session: a cookie holding a random token, never the key.
    expect((await herald.request('POST', '/admin/session', undefined, { key: null })).status).toBe(401);
    expect((await herald.request('POST', '/admin/session', undefined, { key: reader.key })).status).toBe(403);
    expect(
      (await herald.request('POST', '/admin/session', undefined, { key: limitedAdmin.key })).status,
    ).toBe(403);
    const opened = await herald.request('POST', '/admin/session');
    expect(opened.status).toBe(204);
    const setCookie = opened.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(
      /^herald_admin=[A-Za-z0-9_-]{20,}; Path=\/admin; HttpOnly; SameSite=Strict; Max-Age=28800$/,
    );
    expect(setCookie).not.toContain(ADMIN_KEY);
    const cookie = setCookie.split(';')[0];
    const viaSession = await fetch(`${herald.url}/admin/queues/api/queues`, { headers: { cookie } });
    expect(viaSession.status).toBe(200);

    const closed = await fetch(`${herald.url}/admin/session`, { method: 'DELETE', headers: { cookie } });
    expect(closed.status).toBe(204);
    expect(closed.headers.get('set-cookie')).toContain('Max-Age=0');
    expect((await fetch(`${herald.url}/admin/queues`, { headers: { cookie } })).status).toBe(401);

    // Deleting the key ends its sessions at once.
    const admin = await createKey(herald, ['admin']);
    const second = await herald.request('POST', '/admin/session', undefined, { key: admin.key });
    const secondCookie = (second.headers.get('set-cookie') ?? '').split(';')[0];
    expect((await fetch(`${herald.url}/admin/queues`, { headers: { cookie: secondCookie } })).status).toBe(
      200,
    );
    expect((await herald.request('DELETE', `/v1/api-keys/${admin.id}`)).status).toBe(204);
    expect((await fetch(`${herald.url}/admin/queues`, { headers: { cookie: secondCookie } })).status).toBe(
      401,
    );

    // Neither keys nor session tokens reach the logs.
    const logged = log.raw.join('');
    for (const secret of [
      ADMIN_KEY,
      reader.key,
      admin.key,
      cookie.split('=')[1],
      secondCookie.split('=')[1],
    ]) {
      expect(logged).not.toContain(secret);
    }
  });

  it('tells a key what it is (GET /v1/api-keys/current), whatever its scopes', async () => {
    const publisher = await createKey(herald, ['publish'], ['orders']);
    const me = await herald.request('GET', '/v1/api-keys/current', undefined, { key: publisher.key });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ id: publisher.id, name: 'k-publish', scopes: ['publish'], topics: ['orders'] });
    const admin = await herald.request('GET', '/v1/api-keys/current');
    expect(admin.body).toEqual({
      id: 'bootstrap-admin',
      name: 'ADMIN_API_KEY',
      scopes: ['admin'],
      topics: null,
    });
    expect((await herald.request('GET', '/v1/api-keys/current', undefined, { key: null })).status).toBe(401);
    expect((await herald.request('GET', '/v1/api-keys/current', undefined, { key: 'hk_wrong' })).status).toBe(
      401,
    );
  });

  it('has a Grafana dashboard over metrics Herald serves, provisioned by the observability profile', async () => {
    const root = resolve(__dirname, '..', '..');
    const read = (path: string) => readFileSync(join(root, path), 'utf8');
    const dashboard = JSON.parse(read('deploy/grafana/dashboards/herald.json')) as { panels: GrafanaPanel[] };
    const datasourceUid = /uid: (\S+)/.exec(
      read('deploy/grafana/provisioning/datasources/prometheus.yml'),
    )![1];
    const { text } = await scrape(herald.url);
    const served = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    const panels = dashboard.panels.filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThan(10);
    const used = new Set<string>();
    for (const panel of panels) {
      expect(panel.datasource.uid).toBe(datasourceUid);
      for (const target of panel.targets) {
        expect(target.datasource.uid).toBe(datasourceUid);
        for (const [name] of String(target.expr).matchAll(/herald_[a-z0-9_]+/g)) {
          used.add(name.replace(/_(bucket|sum|count)$/, ''));
        }
      }
    }
    for (const name of used) expect(served, `${name} is not served`).toContain(name);
    for (const name of [
      'herald_messages_published_total',
      'herald_deliveries_total',
      'herald_delivery_attempt_duration_seconds',
      'herald_delivery_latency_seconds',
      'herald_dead_letters',
      'herald_catalog_backlog',
      'herald_queue_jobs',
      'herald_http_requests_total',
      'herald_http_request_duration_seconds',
    ]) {
      expect(used, `the dashboard shows ${name}`).toContain(name);
    }

    // docker compose --profile observability: Prometheus scrapes the ports Herald serves on, and
    // every file the compose file mounts exists (no Docker engine here: checked by reading).
    const compose = read('docker-compose.yml');
    expect(compose.match(/profiles: \['observability'\]/g)).toHaveLength(2);
    for (const [, path] of compose.matchAll(/- \.\/(deploy\/\S+?):/g))
      expect(existsSync(join(root, path)), path).toBe(true);
    expect(compose).toContain("METRICS_PORT: '9464'");
    expect(compose).toMatch(/PORT: '3000'/);
    const prometheus = read('deploy/prometheus/prometheus.yml');
    expect(prometheus).toContain("targets: ['api:3000']");
    expect(prometheus).toMatch(/names: \['worker'\]\s+type: A\s+port: 9464/);
    expect(read('deploy/grafana/provisioning/dashboards/herald.yml')).toContain(
      'path: /etc/grafana/dashboards',
    );
    expect(compose).toContain('./deploy/grafana/dashboards:/etc/grafana/dashboards:ro');
  });

  it('says so when the console was not built', async () => {
    const res = await fetch(`${herald.url}/console/`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(((await res.json()) as { detail: string }).detail).toMatch(/npm run build/);
  });
});

describe('a worker-only process serves /healthz, /readyz and /metrics on METRICS_PORT', () => {
  const apps: INestApplicationContext[] = [];
  afterAll(async () => {
    for (const app of apps) await app.close();
  });

  function workerConfig(metricsPort: number) {
    return loadConfig({
      HERALD_ROLES: 'worker',
      REDIS_URL: inject('redisUrl'),
      DATABASE_URL: 'memory://',
      HERALD_QUEUE_PREFIX: `{w${randomBytes(4).toString('hex')}}`,
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'info',
    });
  }

  it('answers the probes and the scrape, and nothing else', async () => {
    const port = await freePort();
    const app = await startWorkerApp(workerConfig(port), pino({ level: 'silent' }));
    apps.push(app);
    const base = `http://127.0.0.1:${port}`;
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { redis: 'ok', catalog: 'ok' } });
    const { samples, text } = await scrape(base);
    expect(sampleValue(samples, 'herald_catalog_backlog')).toBe(0);
    expect(sampleValue(samples, 'herald_dead_letters')).toBe(0);
    expect(sampleValue(samples, 'herald_queue_jobs', { queue: 'fanout', state: 'waiting' })).toBe(0);
    for (const name of [
      'herald_messages_published_total',
      'herald_deliveries_total',
      'herald_delivery_attempt_duration_seconds',
      'herald_delivery_latency_seconds',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    const unknown = await fetch(`${base}/v1/topics`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toContain('application/problem+json');
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('logs a taken METRICS_PORT and keeps delivering', async () => {
    const blocker = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const log = capturedLogger();
      const app = await startWorkerApp(workerConfig(port), log.logger);
      apps.push(app);
      expect(app.get(OperationsServer).port).toBeNull();
      const line = log.lines.find((l) => l.level === 50);
      expect(String(line?.msg)).toMatch(/set METRICS_PORT to a free port/);
      expect(log.lines.some((l) => l.msg === 'workers started')).toBe(true);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('picks a free port for METRICS_PORT=0', async () => {
    const app = await startWorkerApp(workerConfig(0), pino({ level: 'silent' }));
    apps.push(app);
    const port = app.get(OperationsServer).port;
    expect(port).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });
});
