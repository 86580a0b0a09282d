// Helpers shared by the benchmarks: private redis-server and PostgreSQL on free loopback ports (the
// tests' own, test/support/local-servers.mjs), a fresh catalog per Herald, Herald and the reference
// service as child processes, an HTTP sink in a child process, what a child process costs (CPU time,
// RSS from /proc), Redis command counts, load generation, rounds and their summary, and clean-up on
// exit, failure or signal. Not a benchmark itself: bench/run.mjs skips this file.
import autocannon from 'autocannon';
import Redis from 'ioredis';
import { fork, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Pool } from 'undici';
import {
  freePort,
  postgresInstalled,
  startPostgres as startPostgresServer,
  startRedis,
  stopChild,
} from '../test/support/local-servers.mjs';

export { freePort, startRedis };

// ---------------------------------------------------------------------------------------------
// Settings and figures

export function positiveInt(name, fallback) {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a positive integer`);
  return v;
}

/** A comma-separated list of positive integers from the environment. */
export function positiveInts(name, fallback) {
  const values = (process.env[name] ?? fallback).split(',').map(Number);
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v <= 0))
    throw new Error(`${name} must be a comma-separated list of positive integers`);
  return values;
}

/** BENCH_ROUNDS: measured rounds, each running the reference, then every Herald variant. */
export const ROUNDS = positiveInt('BENCH_ROUNDS', 3);

/** Herald's catalog variants (BENCH_CATALOGS): `embedded` (the default engine, a folder) and `postgres`. */
export function catalogKinds() {
  const kinds = (process.env.BENCH_CATALOGS ?? 'embedded,postgres').split(',').filter(Boolean);
  for (const kind of kinds)
    if (kind !== 'embedded' && kind !== 'postgres')
      throw new Error(`BENCH_CATALOGS lists ${kind}: only embedded and postgres are known`);
  return kinds;
}

/** Closed-loop load: BENCH_CONNECTIONS connections for BENCH_DURATION_S a run, after a warm-up of a fifth of it. */
export const CONNECTIONS = positiveInt('BENCH_CONNECTIONS', 50);
export const DURATION_S = positiveInt('BENCH_DURATION_S', 10);
export const WARMUP_S = Math.max(1, Math.round(DURATION_S / 5));

/** The reference's worker concurrencies to try (BENCH_REFERENCE_CONCURRENCY); the fastest is kept. */
export const REFERENCE_CONCURRENCY = positiveInts('BENCH_REFERENCE_CONCURRENCY', '50,100,200');

/** The Herald build the benchmarks run: HERALD_DIST (a folder laid out like dist/), else dist/. */
export function heraldDist() {
  return process.env.HERALD_DIST
    ? resolve(process.env.HERALD_DIST)
    : fileURLToPath(new URL('../dist', import.meta.url));
}

export const rate = (n, ms) => (n / ms) * 1000;
export const fmt = (x) => Math.round(x).toLocaleString('en-US');
export const best = (xs) => Math.max(...xs);
export const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
export const range = (xs) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;
export const mb = (bytes) => `${fmt(bytes / 2 ** 20)} MB`;
export const mbRange = (xs) => `${fmt(Math.min(...xs) / 2 ** 20)}–${mb(Math.max(...xs))}`;
/** Milliseconds to one decimal below 100, whole above. */
export const ms = (x) => (x < 100 ? x.toFixed(1) : fmt(x));

/** The p-th percentile (0–100) of numbers sorted ascending (nearest rank). */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** The 1, 5 and 15 minute load averages, as `uptime` prints them. */
export function loadAverage() {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');
}

/** Milliseconds since an arbitrary origin, high resolution. */
export function now() {
  return performance.now();
}

/** CLOCK_MONOTONIC in nanoseconds: comparable with the same clock in the sink's process. */
export const hrtimeNs = () => process.hrtime.bigint();
export const nsToMs = (ns) => Number(ns) / 1e6;

export function log(line) {
  process.stderr.write(`${line}\n`);
}

/** Rejects, saying `what()` (may be async), when `promise` has not settled after `ms`: a benchmark must end, not hang. */
export async function within(ms, what, promise) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(async () => {
      const why = await Promise.resolve()
        .then(what)
        .catch((err) => String(err));
      reject(new Error(`gave up after ${Math.round(ms / 1000)} s: ${why}`));
    }, ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Clean-up: every child process and temporary folder is undone on exit, on failure and on a signal.

const cleanups = [];

/** Registers `fn` to run at clean-up (last registered, first run); returns a function that runs it now. */
export function defer(fn) {
  const entry = { fn };
  cleanups.push(entry);
  return async () => {
    const i = cleanups.indexOf(entry);
    if (i < 0) return;
    cleanups.splice(i, 1);
    await fn();
  };
}

let cleaning = null;
/**
 * Runs every registered clean-up (last registered, first run); a failing one is logged, not thrown.
 * Calls while one is under way share it (a signal may arrive while the benchmark is failing).
 */
export function cleanUp() {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const { fn } = cleanups.pop();
      try {
        await fn();
      } catch (err) {
        log(`  clean-up: ${err.message}`);
      }
    }
    cleaning = null;
  })();
  return cleaning;
}

/**
 * On SIGINT or SIGTERM: clean up, then exit (130 or 143); on an uncaught exception: clean up, exit 1.
 * A closed stdout or stderr (whoever read them went away) is ignored rather than fatal.
 */
export function cleanUpIfInterrupted(name) {
  let stopping = false;
  const stop = async (why, code) => {
    if (stopping) return;
    stopping = true;
    log(`${name}: ${why}, cleaning up`);
    await cleanUp();
    process.exit(code);
  };
  process.on('SIGINT', () => stop('SIGINT', 130));
  process.on('SIGTERM', () => stop('SIGTERM', 143));
  process.on('uncaughtException', (err) => stop(`FAILED: ${err.stack ?? err}`, 1));
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
}

/** A fresh temporary folder, removed at clean-up. */
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  defer(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Runs a benchmark's main function: logs the machine's load before and after, cleans up whatever it
 * started (also when it fails or the process gets SIGINT/SIGTERM), and exits 1 on failure.
 */
export async function runBenchmark(name, main) {
  cleanUpIfInterrupted(name);
  log(`${name}: load average ${loadAverage()} (2 cores shared by every process)`);
  let code = 0;
  try {
    await main();
  } catch (err) {
    log(`${name}: FAILED: ${err.stack ?? err}`);
    code = 1;
  } finally {
    await cleanUp();
  }
  log(`${name}: load average at the end ${loadAverage()}`);
  // stdout and stderr are synchronous for pipes and files on Linux: nothing is lost by exiting.
  process.exit(code);
}

// ---------------------------------------------------------------------------------------------
// What a process costs, from /proc

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** User + system CPU time of a process (all its threads), in milliseconds, from /proc/<pid>/stat. */
export function procCpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces: state is field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1000;
}

/** Resident memory (VmRSS) and its peak (VmHWM) of a process, in bytes, from /proc/<pid>/status. */
export function procMemory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Resets a process's VmHWM to its current RSS (Linux clear_refs 5); false where not allowed. */
export function resetPeakRss(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Samples a process's VmRSS every `everyMs` until stop(), which returns { peak, samples: [[ms, bytes]] }. */
export function sampleRss(pid, everyMs) {
  const started = now();
  const samples = [];
  const take = () => {
    try {
      samples.push([now() - started, procMemory(pid).rss]);
    } catch {
      // the process has ended
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    samples,
    stop: () => {
      clearInterval(timer);
      take();
      return { peak: Math.max(...samples.map(([, rss]) => rss)), samples };
    },
  };
}

/** User + system CPU time of redis-server, in milliseconds (INFO cpu). */
export async function redisCpuMs(redis) {
  const info = await redis.info('cpu');
  const field = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
}

/** Redis command calls by command name, from INFO commandstats (commands run by scripts included). */
export async function commandStats(redis) {
  const text = await redis.info('commandstats');
  const calls = {};
  for (const line of text.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m) calls[m[1]] = Number(m[2]);
  }
  return calls;
}

/** The difference of two commandStats snapshots, largest first. */
export function commandDelta(before, after) {
  return Object.entries(after)
    .map(([cmd, calls]) => [cmd, calls - (before[cmd] ?? 0)])
    .filter(([, calls]) => calls > 0)
    .sort((a, b) => b[1] - a[1]);
}

/**
 * Starts counting what a measured stretch costs a service process and redis-server; `stop(n)` gives it
 * per message: CPU ms of the process, CPU ms of redis-server, and Redis commands (those inside Lua
 * scripts included; every client of the Redis counts, so measure one side at a time).
 */
export async function costMeter(redis, pid) {
  const cpu0 = procCpuMs(pid);
  const redis0 = await redisCpuMs(redis);
  const stats0 = await commandStats(redis);
  return {
    stop: async (n) => {
      const commands = commandDelta(stats0, await commandStats(redis));
      return {
        cpuMs: (procCpuMs(pid) - cpu0) / n,
        redisCpuMs: ((await redisCpuMs(redis)) - redis0) / n,
        commands: commands.reduce((s, [, c]) => s + c, 0) / n,
        topCommands: commands
          .slice(0, 6)
          .map(([cmd, c]) => `${cmd} ${(c / n).toFixed(1)}`)
          .join(', '),
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Child processes

/** Request/answer over a forked child's IPC channel: `ask({ type, … })` resolves with the answer. */
function ipc(child, what) {
  let seq = 0;
  const pending = new Map();
  child.on('message', (msg) => {
    const waiter = pending.get(msg.seq);
    if (!waiter) return;
    pending.delete(msg.seq);
    waiter(msg);
  });
  child.once('exit', (code) => {
    for (const waiter of pending.values()) waiter({ error: `${what} exited with code ${code}` });
    pending.clear();
  });
  return (command) =>
    new Promise((resolve, reject) => {
      if (child.exitCode !== null) return reject(new Error(`${what} has exited`));
      const id = ++seq;
      pending.set(id, (msg) => (msg.error ? reject(new Error(msg.error)) : resolve(msg)));
      child.send({ ...command, seq: id });
    });
}

/** SIGTERM, then SIGKILL if the process has not exited after `graceMs`. */
export async function terminate(child, graceMs = 20_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Copies a child's output to stderr line by line, prefixed; keeps the last few KB for error messages. */
function relay(stream, prefix, tail) {
  let partial = '';
  stream.on('data', (chunk) => {
    const text = partial + chunk;
    const lines = text.split('\n');
    partial = lines.pop();
    for (const line of lines) log(`${prefix} ${line}`);
    tail.text = (tail.text + text).slice(-4000);
  });
}

/**
 * The HTTP sink (bench/http-sink.child.mjs) in a child process, so that answering requests does not
 * share the event loop with what is measured. `expect(n)` resolves when the sink has counted n
 * requests since the last `reset()`.
 */
export async function startHttpSink() {
  const child = fork(new URL('./http-sink.child.mjs', import.meta.url), [], { stdio: 'inherit' });
  const stop = defer(() => stopChild(child));
  const ask = ipc(child, 'the http sink');
  const { port } = await ask({ type: 'listen' });
  return {
    pid: child.pid,
    origin: `http://127.0.0.1:${port}`,
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    reset: () => ask({ type: 'reset' }),
    /** Keeps each request's arrival time by `webhook-id` ('id') or path ('path'), or stops (null). */
    record: (by) => ask({ type: 'record', by }),
    /** Resolves with the count once it reached n (the sink answers the moment the n-th request ends). */
    expect: (n) => ask({ type: 'expect', n }),
    count: async () => (await ask({ type: 'count' })).count,
    /** { count, distinct, duplicates, last } (distinct and duplicates by the recorded key; last: hrtime ns). */
    stats: async () => {
      const s = await ask({ type: 'stats' });
      return { ...s, last: BigInt(s.last) };
    },
    /** The recorded arrivals, as a Map of key to hrtime ns (BigInt), with the stats. */
    arrivals: async () => {
      const s = await ask({ type: 'arrivals' });
      return { ...s, last: BigInt(s.last), arrivals: new Map(s.arrivals.map(([k, at]) => [k, BigInt(at)])) };
    },
    /** Resolves once no request has started or ended for `ms`. */
    quiet: (ms) => ask({ type: 'quiet', ms }),
    stop,
  };
}

/**
 * Waits until the sink has counted n requests. Fails when the count has not moved for `stallMs`
 * (BENCH_STALL_S, 60 s: a side that stopped delivering) or after `capMs` in all.
 */
export async function untilCount(
  sink,
  n,
  what,
  { stallMs = positiveInt('BENCH_STALL_S', 60) * 1000, capMs } = {},
) {
  const reached = sink.expect(n);
  let seen = -1;
  let movedAt = now();
  const started = now();
  let done = false;
  reached.then(
    () => (done = true),
    () => (done = true),
  );
  while (!done) {
    await Promise.race([reached, delay(1000)]);
    if (done) break;
    const count = await sink.count();
    if (count !== seen) {
      seen = count;
      movedAt = now();
    } else if (now() - movedAt > stallMs) {
      throw new Error(
        `${what}: the sink counted ${count} of ${n} and nothing arrived for ${stallMs / 1000} s`,
      );
    }
    if (capMs !== undefined && now() - started > capMs)
      throw new Error(`${what}: the sink counted ${count} of ${n} after ${Math.round(capMs / 1000)} s`);
  }
  return reached;
}

/**
 * Lets every side finish what it is doing before the next measurement: the sink quiet for 500 ms.
 * A side may be working off a backlog of minutes; one that never stops sending fails after 15.
 */
export async function settle(sink) {
  await within(900_000, async () => `the sink is still receiving (${await sink.count()})`, sink.quiet(500));
}

/** A private redis-server for this benchmark and a client of it (for INFO), both undone at clean-up. */
export async function privateRedis() {
  const server = await startRedis();
  defer(() => server.stop());
  const redis = new Redis(server.url);
  defer(() => redis.disconnect());
  return { url: server.url, redis };
}

/** A private PostgreSQL (see test/support/local-servers.mjs), or null when none is installed. */
export async function startPostgres() {
  return postgresInstalled() ? startPostgresServer() : null;
}

let postgresServer = null;
/** DATABASE_URL=postgres://… when set, else one private server for the whole benchmark; null if none. */
async function postgresServerUrl() {
  const given = process.env.DATABASE_URL;
  if (given && /^postgres(ql)?:\/\//.test(given)) return given;
  if (!postgresServer) {
    postgresServer = startPostgres().then((server) => {
      if (server) defer(() => server.stop());
      return server;
    });
  }
  return (await postgresServer)?.url ?? null;
}

/**
 * A fresh catalog for one Herald: `embedded` is a new temporary folder (the default engine, whatever it
 * is); `postgres` a new database in DATABASE_URL's server or a private one. Removed at clean-up (or by
 * `drop()`). Null when there is no PostgreSQL.
 */
export async function freshCatalog(kind) {
  if (kind === 'embedded') {
    const dir = mkdtempSync(join(tmpdir(), 'herald-bench-catalog-'));
    const drop = defer(() => rmSync(dir, { recursive: true, force: true }));
    return { kind, url: dir, drop };
  }
  if (kind !== 'postgres') throw new Error(`unknown catalog ${kind} (embedded or postgres)`);
  const serverUrl = await postgresServerUrl();
  if (!serverUrl) return null;
  const name = `herald_bench_${randomBytes(5).toString('hex')}`;
  const query = async (sql) => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await query(`CREATE DATABASE ${name}`);
  const drop = defer(() => query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { kind, url: url.toString(), drop };
}

export const NO_POSTGRES =
  'skipped, no PostgreSQL (set DATABASE_URL=postgres://… or install postgresql under /usr/lib/postgresql)';

/** An HTTP client for one service: `api(method, path, body)` → { status, body (parsed JSON) }. */
export function apiClient(origin, headers = {}, connections = 16) {
  const pool = new Pool(origin, { connections });
  defer(() => pool.close());
  const api = async (method, path, body) => {
    const res = await pool.request({
      method,
      path,
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
  };
  const must = async (method, path, body, ...ok) => {
    const res = await api(method, path, body);
    if (!ok.includes(res.status))
      throw new Error(`${method} ${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  };
  return { api, must, pool };
}

/**
 * Herald from the build as a user runs it: `node <dist>/apps/api/src/main.js` in a child process (API and
 * workers per `roles`), on a fresh catalog of `kind`, a private data folder and queue prefix, ready once
 * `GET /readyz` answers 200. `env` adds or overrides settings (Herald's own settings in the benchmark's
 * environment pass through). Null when the catalog is postgres and there is no PostgreSQL.
 */
export async function startHerald({ kind, redisUrl, roles = 'api,worker', env = {} }) {
  const catalog = await freshCatalog(kind);
  if (!catalog) return null;
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-bench-data-'));
  const removeData = defer(() => rmSync(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const adminKey = `bench-admin-${randomBytes(12).toString('hex')}`;
  const main = join(heraldDist(), 'apps', 'api', 'src', 'main.js');
  // BENCH_HERALD_NODE_ARGS: flags for Herald's node only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.BENCH_HERALD_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, main], {
    env: {
      ...process.env,
      REDIS_URL: redisUrl,
      DATABASE_URL: catalog.url,
      ADMIN_API_KEY: adminKey,
      HERALD_DATA_DIR: dataDir,
      HERALD_ROLES: roles,
      HERALD_QUEUE_PREFIX: `{bench-${kind}-${randomBytes(3).toString('hex')}}`,
      OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8',
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_BASE_URL: origin,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Stopped before its catalog is dropped and its folder removed (clean-up runs last-first).
  const stop = defer(() => terminate(child));
  const tail = { text: '' };
  relay(child.stdout, `  [herald ${kind}]`, tail);
  relay(child.stderr, `  [herald ${kind}]`, tail);
  const exited = new Promise((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(new Error(`Herald (${kind}) exited (${signal ?? code}) before it was ready:\n${tail.text}`)),
    ),
  );
  exited.catch(() => undefined);
  const client = apiClient(origin, { authorization: `Bearer ${adminKey}` });
  const ready = (async () => {
    for (;;) {
      try {
        if ((await client.api('GET', '/readyz')).status === 200) return;
      } catch {
        // not listening yet
      }
      await delay(200);
    }
  })();
  const started = now();
  await within(
    120_000,
    () => `Herald (${kind}) did not answer GET /readyz 200:\n${tail.text}`,
    Promise.race([ready, exited]),
  );
  log(`  herald (${kind}, roles ${roles}) ready in ${fmt(now() - started)} ms, pid ${child.pid}`);
  return {
    kind,
    label: `herald (${kind})`,
    pid: child.pid,
    origin,
    adminKey,
    ...client,
    /** Stops it (SIGTERM), then removes its data folder and drops its catalog. */
    stop: async () => {
      await stop();
      await removeData();
      await catalog.drop();
    },
  };
}

/**
 * Polls `GET /v1/messages/{id}` (every 10 ms) until it shows `delivered` deliveries recorded; resolves
 * with the milliseconds it took. Fails after `capMs`.
 */
export async function untilRecorded(herald, id, delivered, capMs = 120_000) {
  const started = now();
  let last = null;
  await within(
    capMs,
    () => `${herald.label} has not recorded message ${id} as delivered: ${JSON.stringify(last?.counts)}`,
    (async () => {
      for (;;) {
        last = await herald.must('GET', `/v1/messages/${id}`, undefined, 200);
        if (last.counts.delivered === delivered) return;
        await delay(10);
      }
    })(),
  );
  return now() - started;
}

/** Creates a topic and `webhook` subscriptions (skipConfirmation) to each of `endpoints`, `inFlight` at a time. */
export async function createWebhookTopic(herald, topic, endpoints, inFlight = 32) {
  await herald.must('POST', '/v1/topics', { name: topic }, 201);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(inFlight, endpoints.length) }, async () => {
      while (next < endpoints.length) {
        const endpoint = endpoints[next++];
        const sub = await herald.must(
          'POST',
          `/v1/topics/${topic}/subscriptions`,
          { protocol: 'webhook', endpoint, skipConfirmation: true },
          201,
        );
        if (sub.status !== 'active') throw new Error(`subscription is ${sub.status}, not active`);
      }
    }),
  );
}

/**
 * The reference service (bench/reference-service.child.mjs) in a child process, on its own queue:
 * `POST /publish` (+ a worker to the sink's `sinkPath` unless `worker` is false). `ask` sends it a
 * command (fanout, counts, clean, obliterate).
 */
export async function startReference({
  redisUrl,
  sink,
  concurrency = 100,
  worker = true,
  sinkPath = '/reference',
}) {
  const child = fork(new URL('./reference-service.child.mjs', import.meta.url), [], {
    env: {
      ...process.env,
      REFERENCE_REDIS_URL: redisUrl,
      REFERENCE_SINK_ORIGIN: sink?.origin ?? '',
      REFERENCE_SINK_PATH: sinkPath,
      REFERENCE_CONCURRENCY: String(concurrency),
      REFERENCE_WORKER: worker ? '1' : '0',
      REFERENCE_QUEUE: `reference-${randomBytes(3).toString('hex')}`,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const stop = defer(() => terminate(child));
  const ask = ipc(child, 'the reference service');
  const port = await within(
    30_000,
    () => 'the reference service did not start',
    new Promise((resolve, reject) => {
      child.on('message', (msg) => msg.type === 'ready' && resolve(msg.port));
      child.once('exit', (code) => reject(new Error(`the reference service exited with code ${code}`)));
    }),
  );
  const origin = `http://127.0.0.1:${port}`;
  const label = worker ? `reference (concurrency ${concurrency})` : 'reference (publish only)';
  return {
    label,
    concurrency,
    pid: child.pid,
    origin,
    ...apiClient(origin),
    ask: async (command) => (await ask(command)).result,
    /** Waits until its queue has no job waiting, active or delayed, then drops the completed ones. */
    drain: async () => {
      await within(
        120_000,
        () => 'the reference queue did not drain',
        (async () => {
          for (;;) {
            const c = (await ask({ type: 'counts' })).result;
            if (c.wait + c.active + c.delayed === 0) return;
            await delay(20);
          }
        })(),
      );
      await ask({ type: 'clean' });
    },
    stop,
  };
}

// ---------------------------------------------------------------------------------------------
// Load

/** The message of the one-subscriber benchmarks: a small order event, as a publisher would send it. */
export function orderPayload(i) {
  return {
    orderId: 100_000 + i,
    status: 'paid',
    total: 99.5,
    currency: 'EUR',
    customer: { id: `cus_${i % 977}`, tier: 'pro' },
    items: [
      { sku: 'SKU-1042', qty: 1 },
      { sku: 'SKU-2210', qty: 2 },
    ],
  };
}

/** The target of a publish: Herald's `POST /v1/topics/{t}/messages` (bearer key) or the reference's `/publish`. */
export function publishTarget(side, topic) {
  return side.adminKey
    ? {
        path: `/v1/topics/${topic}/messages`,
        headers: { authorization: `Bearer ${side.adminKey}` },
        wrap: (body) => ({ body }),
        batchPath: `/v1/topics/${topic}/messages/batch`,
        wrapBatch: (bodies) => ({ messages: bodies.map((body) => ({ body })) }),
      }
    : {
        path: '/publish',
        headers: {},
        wrap: (body) => body,
        batchPath: '/publish-batch',
        wrapBatch: (bodies) => ({ messages: bodies }),
      };
}

/** The id a publish answer names: Herald's messageId, the reference's job id. */
export const publishedId = (answer) => answer.messageId ?? answer.id;

/**
 * Closed-loop load with autocannon (in this process): `connections` connections POST `body` (a JSON
 * string) for `durationS`. With `collectIds`, keeps each accepted publish's id, in answer order.
 */
export async function autocannonLoad({ origin, target, body, connections, durationS, collectIds = false }) {
  const ids = [];
  const result = await autocannon({
    url: `${origin}${target.path}`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body,
    connections,
    duration: durationS,
    requests: collectIds
      ? [
          {
            onResponse: (status, text) => {
              if (status >= 200 && status < 300) ids.push(publishedId(JSON.parse(text)));
            },
          },
        ]
      : undefined,
  });
  return {
    accepted: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99,
    seconds: result.duration,
    ids,
  };
}

// ---------------------------------------------------------------------------------------------
// Rounds

/**
 * Starts and warms up the sides of a benchmark: the reference, then a Herald per catalog variant
 * (BENCH_CATALOGS; postgres is skipped when there is none) with `setUp(herald)` done first (a topic,
 * its subscriptions). `measure(side, 'warm-up')` warms each side up, and `describe` says how it went.
 *
 * With `score` (higher is better), the reference's worker concurrency is tuned fairly: each of
 * BENCH_REFERENCE_CONCURRENCY is started, warmed up and measured once (`measure(side, 'tune')`), and
 * the best is kept running; with `keepTuningRun` its tuning run counts as its first run. Without
 * `score`, one reference with `reference` as its options ({ worker: false } for publish-only).
 */
export async function startSides({
  redisUrl,
  sink,
  measure,
  describe,
  score,
  keepTuningRun,
  reference = {},
  roles,
  setUp,
}) {
  const warmUp = async (side) => log(`  ${side.label} warm-up: ${describe(await measure(side, 'warm-up'))}`);
  const start = async (options) => {
    const ref = await startReference({ redisUrl, sink, ...options });
    await warmUp(ref);
    return ref;
  };
  let kept = null;
  if (!score) {
    kept = await start(reference);
    kept.runs = [];
  } else {
    let keptRun = null;
    for (const concurrency of REFERENCE_CONCURRENCY) {
      const candidate = await start({ ...reference, concurrency });
      const run = await measure(candidate, 'tune');
      log(`  reference concurrency ${concurrency}: ${describe(run)}`);
      if (kept === null || score(run) > score(keptRun)) {
        await kept?.stop();
        kept = candidate;
        keptRun = run;
      } else {
        await candidate.stop();
      }
    }
    log(`  reference concurrency ${kept.concurrency} kept`);
    kept.runs = keepTuningRun ? [keptRun] : [];
  }
  const heralds = [];
  for (const kind of catalogKinds()) {
    const herald = await startHerald({ kind, redisUrl, roles });
    if (!herald) {
      log(`  herald (${kind}): ${NO_POSTGRES}`);
      continue;
    }
    await setUp(herald);
    await warmUp(herald);
    herald.runs = [];
    heralds.push(herald);
  }
  return { reference: kept, heralds };
}

/**
 * BENCH_ROUNDS rounds; each measures the reference, then every Herald variant, so that the machine
 * getting busier or calmer hits both sides alike. `measure(side, round)` returns a run; each side's
 * runs collect in `side.runs`. Logs each round with `describe(run)`.
 */
export async function alternate(reference, heralds, measure, describe) {
  for (let round = 1; round <= ROUNDS; round++) {
    const parts = [];
    for (const side of [reference, ...heralds]) {
      const run = await measure(side, round);
      side.runs.push(run);
      parts.push(`${side.label} ${describe(run)}`);
    }
    log(`  round ${round}: ${parts.join('; ')}`);
  }
}

/**
 * Herald against the reference on one figure: best of each (highest, or lowest with `lowerIsBetter`),
 * their ratio herald/reference, and the median of each round's ratio to the reference run just before it.
 */
export function compare(referenceRuns, heraldRuns, value, { lowerIsBetter = false } = {}) {
  const pick = lowerIsBetter ? (xs) => Math.min(...xs) : best;
  const x = pick(referenceRuns.map(value));
  const y = pick(heraldRuns.map(value));
  // The reference's runs may start with a tuning run that has no Herald pair: pair from the end.
  const offset = referenceRuns.length - heraldRuns.length;
  const paired = heraldRuns.map((r, i) => value(r) / value(referenceRuns[i + offset]));
  return { reference: x, herald: y, ratio: y / x, roundRatio: median(paired) };
}
