// Helpers shared by the benchmarks: private redis-server and PostgreSQL on free loopback ports (the
// tests' own, test/support/local-servers.mjs), an HTTP sink in a child process, and Redis command
// counts. Not a benchmark itself: bench/run.mjs skips this file.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import {
  postgresInstalled,
  startPostgres as startPostgresServer,
  stopChild,
} from '../test/support/local-servers.mjs';

export { freePort, startRedis } from '../test/support/local-servers.mjs';

/** A private PostgreSQL (see test/support/local-servers.mjs), or null when none is installed. */
export async function startPostgres() {
  return postgresInstalled() ? startPostgresServer() : null;
}

/**
 * The PostgreSQL server to benchmark on: DATABASE_URL when it is `postgres://…`, else a private one
 * (stopped by `cleanups`, which run last first); null when none is installed.
 */
export async function postgresServer(cleanups) {
  const given = process.env.DATABASE_URL;
  if (given?.startsWith('postgres')) return given;
  const server = await startPostgres();
  if (!server) return null;
  cleanups.push(() => server.stop());
  return server.url;
}

/** A fresh database on that server, dropped by `cleanups`; its URL. */
export async function createDatabase(serverUrl, cleanups) {
  const name = `herald_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  cleanups.push(async () => {
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * The HTTP sink (bench/http-sink.child.mjs) in a child process, so that answering requests does not
 * share the event loop with what is measured. `expect(n)` resolves when the sink has counted n
 * requests since the last `reset()`.
 */
export async function startHttpSink() {
  const child = fork(new URL('./http-sink.child.mjs', import.meta.url), [], { stdio: 'inherit' });
  let seq = 0;
  const pending = new Map();
  child.on('message', (msg) => {
    const waiter = pending.get(msg.seq);
    if (!waiter) return;
    pending.delete(msg.seq);
    waiter(msg);
  });
  child.once('exit', (code) => {
    for (const waiter of pending.values()) waiter({ error: `http sink exited with code ${code}` });
    pending.clear();
  });
  const ask = (command) =>
    new Promise((resolve, reject) => {
      const id = ++seq;
      pending.set(id, (msg) => (msg.error ? reject(new Error(msg.error)) : resolve(msg)));
      child.send({ ...command, seq: id });
    });
  const { port } = await ask({ type: 'listen' });
  return {
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    reset: () => ask({ type: 'reset' }),
    /** Resolves with the count once it reached n (the sink answers the moment the n-th request ends). */
    expect: (n) => ask({ type: 'expect', n }),
    count: async () => (await ask({ type: 'count' })).count,
    stop: () => stopChild(child),
  };
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

/** Milliseconds since an arbitrary origin, high resolution. */
export function now() {
  return performance.now();
}

export function log(line) {
  process.stderr.write(`${line}\n`);
}
