// Webhook fan-out throughput: Herald against a minimal hand-written BullMQ + undici loop, measured in
// the same run against the same private redis-server and the same HTTP sink (a child process that
// answers 200 and counts). Needs `npm run build` first. See bench/README.md for how to read it.
//
//   BENCH_DELIVERIES=20000          deliveries per measured run (N = S × M)
//   BENCH_SUBSCRIPTIONS=100         webhook subscriptions of the topic (S); M = N / S messages
//   BENCH_ROUNDS=3                  measured rounds; each round runs the baseline, then each Herald
//   BENCH_BASELINE_CONCURRENCY=50,100,200   worker concurrencies tried for the baseline (best one counts)
//   BENCH_CATALOGS=embedded,postgres  Herald variants: embedded is the default engine in a fresh temporary
//                                   folder; postgres uses DATABASE_URL=postgres://… when set (a fresh
//                                   database in it), else a private server from /usr/lib/postgresql/*/bin
//                                   (skipped if none)
//   BENCH_ONLY=baseline|herald      run one side only (profiling)
//   BENCH_TRACE=1                   print Herald's queue depths every 250 ms, catalog batch sizes, and
//                                   every Redis command per delivery
//   BENCH_CPU_PROFILE=dir           write a .cpuprofile of each measured run (not set-up, not warm-up)
//   Herald's own settings (WEBHOOK_CONCURRENCY, WEBHOOK_CONNECTIONS_PER_ORIGIN, …) pass through.
//   HERALD_DIST=folder              the build to load instead of dist/
import { Queue, Worker } from 'bullmq';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import pino from 'pino';
import { Agent, Pool, request } from 'undici';
import {
  best,
  catalogKinds,
  cleanUp,
  cleanUpIfInterrupted,
  commandDelta,
  commandStats,
  defer,
  fmt,
  freePort,
  freshCatalog,
  heraldDist,
  loadAverage,
  log,
  median,
  NO_POSTGRES,
  now,
  orderPayload as payload,
  positiveInt,
  privateRedis,
  range,
  rate,
  redisCpuMs,
  startHttpSink,
  within,
} from './support.mjs';

const require = createRequire(import.meta.url);
const dist = heraldDist();
const { loadConfig } = require(join(dist, 'libs/config/src/index.js'));
const { createApiApp } = require(join(dist, 'apps/api/src/bootstrap.js'));
const { Catalog } = require(join(dist, 'libs/catalog/src/index.js'));

const SUBSCRIPTIONS = positiveInt('BENCH_SUBSCRIPTIONS', 100);
const MESSAGES = Math.max(1, Math.round(positiveInt('BENCH_DELIVERIES', 20_000) / SUBSCRIPTIONS));
const DELIVERIES = MESSAGES * SUBSCRIPTIONS;
const WARMUP_MESSAGES = Math.max(2, Math.round(MESSAGES / 10));
const ROUNDS = positiveInt('BENCH_ROUNDS', 3);
const BASELINE_CONCURRENCY = (process.env.BENCH_BASELINE_CONCURRENCY ?? '50,100,200')
  .split(',')
  .map(Number)
  .filter((c) => Number.isInteger(c) && c > 0);
/** Worker processes started beside Herald's own process in the postgres variant (BENCH_EXTRA_WORKERS). */
const EXTRA_WORKERS = Number(process.env.BENCH_EXTRA_WORKERS ?? 0);
const CATALOGS = catalogKinds();
const ONLY = process.env.BENCH_ONLY ?? '';
const TRACE = Boolean(process.env.BENCH_TRACE);
const PROFILE_DIR = process.env.BENCH_CPU_PROFILE ?? '';
const ADMIN_KEY = `bench-admin-${randomBytes(12).toString('hex')}`;
const ADD_CHUNK = 1000;
/** Far beyond any healthy run, so that a side that stops delivering fails the benchmark instead of hanging it. */
const deadlineMs = (n) => 60_000 + n * 5;

/** CPU time (user + system) of this process and of redis-server, in milliseconds. */
async function cpuSnapshot(redis) {
  const own = process.cpuUsage();
  return { self: (own.user + own.system) / 1000, redis: await redisCpuMs(redis) };
}

/**
 * Runs `fn` (one measured run of `n` deliveries) and returns its result with what it cost per delivery:
 * CPU in this process and in redis-server, and Redis commands (those run inside scripts included).
 */
async function measured(redis, name, n, fn) {
  const cpu0 = await cpuSnapshot(redis);
  const stats0 = await commandStats(redis);
  const profile = await startProfile(name);
  const result = await fn();
  await profile?.stop();
  const cpu1 = await cpuSnapshot(redis);
  const commands = commandDelta(stats0, await commandStats(redis)).map(([cmd, calls]) => [cmd, calls / n]);
  return {
    ...result,
    cpuMicros: ((cpu1.self - cpu0.self) / n) * 1000,
    redisMicros: ((cpu1.redis - cpu0.redis) / n) * 1000,
    commands,
  };
}

function describeCosts(label, runs) {
  const last = runs[runs.length - 1];
  const total = last.commands.reduce((s, [, c]) => s + c, 0);
  const top = last.commands
    .slice(0, TRACE ? undefined : 8)
    .map(([cmd, c]) => `${cmd} ${c.toFixed(2)}`)
    .join(', ');
  return (
    `  ${label}: per delivery ${fmt(median(runs.map((r) => r.cpuMicros)))} µs CPU in this process, ` +
    `${fmt(median(runs.map((r) => r.redisMicros)))} µs in redis-server (medians); ` +
    `${total.toFixed(1)} Redis commands (${top}${TRACE ? '' : ', …'})`
  );
}

/** Samples this process's CPU until stop(), into BENCH_CPU_PROFILE/<name>.cpuprofile (Chrome DevTools format). */
async function startProfile(name) {
  if (!PROFILE_DIR) return null;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return {
    stop: async () => {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      mkdirSync(PROFILE_DIR, { recursive: true });
      const file = join(PROFILE_DIR, `${name}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      log(`  wrote ${file}`);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// (a) Baseline: addBulk N jobs {url, payload}; one Worker POSTs each with undici through one Agent.

async function startBaseline(redisUrl, sink, concurrency) {
  const connection = { url: redisUrl, maxRetriesPerRequest: null };
  const name = `baseline-${concurrency}-${randomBytes(3).toString('hex')}`;
  const queue = new Queue(name, { connection });
  const agent = new Agent();
  const worker = new Worker(
    name,
    async (job) => {
      const { statusCode, body } = await request(job.data.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(job.data.payload),
        dispatcher: agent,
      });
      await body.dump();
      if (statusCode !== 200) throw new Error(`receiver answered ${statusCode}`);
    },
    { connection, concurrency },
  );
  await worker.waitUntilReady();
  const url = sink.url('/baseline');

  /** Milliseconds from the first addBulk until the sink has counted n requests. */
  const run = async (n) => {
    await sink.reset();
    const started = now();
    const reached = sink.expect(n);
    for (let i = 0; i < n; i += ADD_CHUNK) {
      const jobs = [];
      for (let j = i; j < Math.min(n, i + ADD_CHUNK); j++)
        jobs.push({ name: 'post', data: { url, payload: payload(j) } });
      await queue.addBulk(jobs);
    }
    await within(deadlineMs(n), async () => `the baseline delivered ${await sink.count()} of ${n}`, reached);
    const ms = now() - started;
    // Let the worker mark the last jobs completed before anything else is measured.
    for (;;) {
      const counts = await queue.getJobCounts('active', 'wait');
      if (counts.active + counts.wait === 0) break;
      await delay(5);
    }
    await queue.clean(0, 0, 'completed');
    return ms;
  };

  await run(WARMUP_MESSAGES * SUBSCRIPTIONS);
  return {
    concurrency,
    run,
    close: async () => {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
      await agent.close();
    },
  };
}

/**
 * For reading the ratio only: the same POSTs from a plain loop with 100 in flight, no queue at all.
 * What a delivery costs in HTTP alone; the rest of each side's cost is queueing and recording.
 */
async function httpOnly(sink, n) {
  const agent = new Agent();
  const url = sink.url('/http-only');
  await sink.reset();
  const started = now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 100 }, async () => {
      while (next < n) {
        const i = next++;
        const { statusCode, body } = await request(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(payload(i)),
          dispatcher: agent,
        });
        await body.dump();
        if (statusCode !== 200) throw new Error(`receiver answered ${statusCode}`);
      }
    }),
  );
  await sink.expect(n);
  await agent.close();
  return now() - started;
}

// ---------------------------------------------------------------------------------------------
// (b) Herald from the build: API + workers in this process; S subscriptions × M messages.

/** Boots Herald with a topic of S webhook subscriptions to the sink and warms it up; null when skipped. */
async function startHerald(kind, redisUrl, sink) {
  // Last registered, first undone: Herald closes before its database is dropped. Each is also undone
  // at the benchmark's clean-up (a failure, SIGINT/SIGTERM) if close() has not run.
  const cleanups = [];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const catalog = await freshCatalog(kind);
    if (!catalog) {
      log(`  herald (${kind}): ${NO_POSTGRES}`);
      return null;
    }
    cleanups.push(catalog.drop);
    const databaseUrl = catalog.url;
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'herald-bench-data-'));
    cleanups.push(defer(() => rmSync(dataDir, { recursive: true, force: true })));
    const config = loadConfig({
      ...process.env,
      REDIS_URL: redisUrl,
      DATABASE_URL: databaseUrl,
      ADMIN_API_KEY: ADMIN_KEY,
      HERALD_ROLES: 'api,worker',
      HERALD_QUEUE_PREFIX: `{bench-${kind}}`,
      OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8',
      HERALD_DATA_DIR: dataDir,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    });
    const signalHandlers = new Map(['SIGINT', 'SIGTERM'].map((s) => [s, process.listeners(s)]));
    const app = await createApiApp(config, pino({ level: config.logLevel }, pino.destination(2)));
    await app.listen({ port, host: '127.0.0.1' });
    // Nest's shutdown hooks would exit on a signal before the benchmark cleans up: its clean-up closes the app.
    for (const [signal, before] of signalHandlers)
      for (const handler of process.listeners(signal))
        if (!before.includes(handler)) process.off(signal, handler);
    cleanups.push(defer(() => app.close()));
    // Extra worker processes (HERALD_ROLES=worker), as a deployment scales out; PostgreSQL only.
    if (kind === 'postgres') {
      for (let i = 0; i < EXTRA_WORKERS; i++) {
        const child = spawn(process.execPath, [join(dist, 'apps/worker/src/main.js')], {
          env: {
            ...process.env,
            REDIS_URL: redisUrl,
            DATABASE_URL: databaseUrl,
            HERALD_QUEUE_PREFIX: `{bench-${kind}}`,
            OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8',
            HERALD_DATA_DIR: dataDir,
            // Each worker serves its metrics on a port of its own.
            METRICS_PORT: '0',
            LOG_LEVEL: 'info',
          },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        await new Promise((resolve, reject) => {
          let out = '';
          child.stdout.on('data', (c) => {
            out += c;
            if (out.includes('herald worker running')) resolve();
          });
          child.once('exit', (code) => reject(new Error(`extra worker exited with ${code}`)));
        });
        child.stdout.resume();
        cleanups.push(
          defer(
            () =>
              new Promise((resolve) => {
                if (child.exitCode !== null) return resolve();
                child.once('exit', resolve);
                child.kill('SIGTERM');
              }),
          ),
        );
      }
    }
    const client = new Pool(`http://127.0.0.1:${port}`, { connections: 16 });
    cleanups.push(defer(() => client.close()));
    const api = async (method, path, body) => {
      const res = await client.request({
        method,
        path,
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.body.text();
      return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
    };
    const must = (res, ...ok) => {
      if (!ok.includes(res.status))
        throw new Error(`Herald answered ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body;
    };

    const topic = 'bench-orders';
    must(await api('POST', '/v1/topics', { name: topic }), 201);
    for (let i = 0; i < SUBSCRIPTIONS; i++) {
      const sub = must(
        await api('POST', `/v1/topics/${topic}/subscriptions`, {
          protocol: 'webhook',
          endpoint: sink.url(`/herald/${i}`),
          skipConfirmation: true,
        }),
        201,
      );
      if (sub.status !== 'active') throw new Error(`subscription is ${sub.status}, not active`);
    }

    let published = 0;
    /** Publishes `messages` at once; times until accepted, delivered (sink count) and recorded (catalog). */
    const run = async (messages) => {
      const n = messages * SUBSCRIPTIONS;
      const first = published;
      published += messages;
      await sink.reset();
      const started = now();
      const reached = sink.expect(n);
      const ids = await Promise.all(
        Array.from({ length: messages }, async (_, i) => {
          const res = must(
            await api('POST', `/v1/topics/${topic}/messages`, { body: payload(first + i) }),
            202,
          );
          return res.messageId;
        }),
      );
      const accepted = now() - started;
      await within(
        deadlineMs(n),
        async () =>
          `Herald (${kind}) delivered ${await sink.count()} of ${n} (are deliveries failing? LOG_LEVEL=info)`,
        reached,
      );
      const delivered = now() - started;
      // Only now start asking the catalog, so the polling does not compete with the deliveries.
      let last = null;
      const recorded = async () => {
        for (let i = 0; i < ids.length;) {
          last = must(await api('GET', `/v1/messages/${ids[i]}`), 200);
          if (last.counts.delivered === SUBSCRIPTIONS) i++;
          else await delay(10);
        }
      };
      await within(
        deadlineMs(n),
        () =>
          `Herald (${kind}) has not recorded every delivery; one message shows ${JSON.stringify(last?.counts)}`,
        recorded(),
      );
      return { accepted, delivered, recorded: now() - started };
    };

    await run(WARMUP_MESSAGES);
    return { kind, app, queuePrefix: config.queuePrefix, run, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Counts the recorder's catalog batches (events per batch, time per batch) until stop(). */
function traceCatalogBatches(catalog) {
  const original = catalog.applyEvents;
  const sizes = [];
  let ms = 0;
  catalog.applyEvents = async function (events) {
    const started = now();
    try {
      return await original.call(this, events);
    } finally {
      ms += now() - started;
      sizes.push(events.length);
    }
  };
  return {
    stop: () => {
      catalog.applyEvents = original;
      const events = sizes.reduce((a, b) => a + b, 0);
      sizes.sort((a, b) => a - b);
      log(
        `    catalog: ${sizes.length} batches, ${events} events, median ${sizes[sizes.length >> 1] ?? 0} events a ` +
          `batch, ${fmt(ms)} ms applying (${((ms / Math.max(1, events)) * 1000).toFixed(0)} µs an event)`,
      );
    },
  };
}

/** Every 250 ms: deliveries received, fan-out and webhook jobs waiting/active, catalog events not yet written. */
function traceQueues(redis, prefix, sink) {
  const started = now();
  let running = true;
  const loop = (async () => {
    while (running) {
      const [received, depths] = await Promise.all([
        sink.count(),
        redis
          .multi()
          .llen(`${prefix}:fanout:wait`)
          .llen(`${prefix}:fanout:active`)
          .llen(`${prefix}:deliver-webhook:wait`)
          .llen(`${prefix}:deliver-webhook:active`)
          .xlen(`${prefix}:catalog-events`)
          .exec(),
      ]);
      const [fw, fa, ww, wa, ev] = depths.map(([, v]) => v);
      log(
        `    t=${fmt(now() - started)} ms received ${received}; fanout wait ${fw} active ${fa}; ` +
          `webhook wait ${ww} active ${wa}; catalog events ${ev}`,
      );
      await delay(250);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

async function measureHerald(herald, redis, sink, round) {
  const trace = TRACE ? traceQueues(redis, herald.queuePrefix, sink) : null;
  const batches = TRACE ? traceCatalogBatches(herald.app.get(Catalog)) : null;
  try {
    return await measured(redis, `herald-${herald.kind}-${round}`, DELIVERIES, async () => {
      const t = await herald.run(MESSAGES);
      return {
        ...t,
        perSecond: rate(DELIVERIES, t.delivered),
        recordedPerSecond: rate(DELIVERIES, t.recorded),
      };
    });
  } finally {
    await trace?.stop();
    batches?.stop();
  }
}

async function measureBaseline(baseline, redis, round) {
  return measured(redis, `baseline-c${baseline.concurrency}-${round}`, DELIVERIES, async () => {
    const ms = await baseline.run(DELIVERIES);
    return { ms, perSecond: rate(DELIVERIES, ms) };
  });
}

// ---------------------------------------------------------------------------------------------

cleanUpIfInterrupted('webhook-fanout');
const { url: redisUrl, redis } = await privateRedis();
const sink = await startHttpSink();
const heralds = [];
let baseline = null;
try {
  log(
    `webhook-fanout: N=${DELIVERIES} deliveries (${SUBSCRIPTIONS} subscriptions × ${MESSAGES} messages), ` +
      `warm-up ${WARMUP_MESSAGES * SUBSCRIPTIONS} first on each side, ${ROUNDS} rounds; load average ${loadAverage()}`,
  );

  // The baseline's concurrency: each candidate warmed up and measured once, the fastest is kept.
  const baselineRuns = [];
  if (ONLY !== 'herald') {
    let fastest = 0;
    for (const concurrency of BASELINE_CONCURRENCY) {
      const candidate = await startBaseline(redisUrl, sink, concurrency);
      const r = await measureBaseline(candidate, redis, 'tune');
      log(`  baseline concurrency ${concurrency}: ${fmt(r.perSecond)} deliveries/s`);
      if (r.perSecond > fastest) {
        fastest = r.perSecond;
        await baseline?.close();
        baseline = candidate;
        baselineRuns.splice(0, baselineRuns.length, r);
      } else {
        await candidate.close();
      }
    }
    log(`  baseline concurrency ${baseline.concurrency} kept`);
  }
  if (ONLY === '') {
    const ms = await httpOnly(sink, DELIVERIES);
    log(`  for reference, undici alone (no queue, 100 in flight): ${fmt(rate(DELIVERIES, ms))} deliveries/s`);
  }

  if (ONLY !== 'baseline') {
    for (const kind of CATALOGS) {
      const h = await startHerald(kind, redisUrl, sink);
      if (h) heralds.push({ ...h, runs: [] });
    }
  }

  // Rounds alternate the sides, so that the machine getting busier or calmer hits both alike.
  for (let round = 1; round <= ROUNDS; round++) {
    const parts = [];
    if (baseline) {
      const r = await measureBaseline(baseline, redis, round);
      baselineRuns.push(r);
      parts.push(`baseline ${fmt(r.perSecond)}`);
    }
    for (const h of heralds) {
      const r = await measureHerald(h, redis, sink, round);
      h.runs.push(r);
      parts.push(`herald (${h.kind}) ${fmt(r.perSecond)}, recorded ${fmt(r.recordedPerSecond)}`);
    }
    log(`  round ${round}: ${parts.join('; ')} deliveries/s`);
  }

  if (baseline) log(describeCosts(`baseline (concurrency ${baseline.concurrency})`, baselineRuns));
  for (const h of heralds) log(describeCosts(`herald (${h.kind})`, h.runs));

  const x = baselineRuns.length ? best(baselineRuns.map((r) => r.perSecond)) : null;
  if (x !== null && heralds.length === 0) {
    console.log(
      `webhook-fanout: baseline ${fmt(x)} deliveries/s (best of ${baselineRuns.length}, range ${range(baselineRuns.map((r) => r.perSecond))}, concurrency ${baseline.concurrency}, N=${DELIVERIES})`,
    );
  }
  for (const h of heralds) {
    const y = best(h.runs.map((r) => r.perSecond));
    const z = best(h.runs.map((r) => r.recordedPerSecond));
    const ratio = x === null ? 'n/a' : (y / x).toFixed(2);
    const spread =
      x === null
        ? ''
        : `baseline ${range(baselineRuns.map((r) => r.perSecond))} over ${baselineRuns.length} runs (concurrency ${baseline.concurrency}), `;
    // Each round's Herald rate over the baseline rate measured just before it (the tuning run has no pair).
    const paired = x === null ? [] : h.runs.map((r, i) => r.perSecond / baselineRuns[i + 1].perSecond);
    const perRound = paired.length ? `; round ratios median ${median(paired).toFixed(2)}` : '';
    console.log(
      `webhook-fanout: baseline ${x === null ? 'n/a' : fmt(x)} deliveries/s, herald ${fmt(y)} deliveries/s ` +
        `(recorded ${fmt(z)}/s), ratio Y/X = ${ratio} ` +
        `(catalog ${h.kind}, N=${DELIVERIES}, best of each; ${spread}herald ${range(h.runs.map((r) => r.perSecond))} over ${h.runs.length}${perRound})`,
    );
  }
} finally {
  for (const h of heralds) await h.close();
  await baseline?.close();
  await cleanUp();
}
