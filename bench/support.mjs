// Helpers shared by the benchmarks: private redis-server and PostgreSQL on free loopback ports (the
// same logic as test/support/servers.ts, which the build does not ship), an HTTP sink in a child
// process, and Redis command counts. Not a benchmark itself: bench/run.mjs skips this file.
import { fork, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free TCP port on loopback. */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function waitForOutput(child, pattern, what) {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk) => {
      out += chunk.toString();
      if (pattern.test(out)) {
        child.stdout.off('data', onData);
        child.off('exit', onExit);
        resolve();
      }
    };
    const onExit = (code) => reject(new Error(`${what} exited with code ${code}:\n${out.slice(-2000)}`));
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
}

function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** A private redis-server on a free loopback port, without persistence, as the tests use. */
export async function startRedis() {
  if (!onPath('redis-server')) {
    throw new Error('redis-server is not on the PATH (Debian/Ubuntu: apt-get install -y redis-server).');
  }
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await waitForOutput(child, /Ready to accept connections/, 'redis-server');
  return { url: `redis://127.0.0.1:${port}`, port, stop: () => stopChild(child) };
}

function postgresBinDir() {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], 'bin') : null;
}

/**
 * A private PostgreSQL cluster in a temporary folder (trust auth, fsync off), run as the postgres
 * user when we are root; null when no PostgreSQL is installed.
 */
export async function startPostgres() {
  const bin = postgresBinDir();
  if (!bin) return null;
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-pg-'));
  const dataDir = join(dir, 'data');
  const isRoot = process.getuid?.() === 0;
  const asUser = (args) => (isRoot ? ['runuser', '-u', 'postgres', '--', ...args] : args);
  mkdirSync(dataDir);
  if (isRoot) {
    const uid = Number(spawnSync('id', ['-u', 'postgres']).stdout.toString());
    const gid = Number(spawnSync('id', ['-g', 'postgres']).stdout.toString());
    chownSync(dir, uid, gid);
    chownSync(dataDir, uid, gid);
  }
  const init = asUser([
    join(bin, 'initdb'),
    '-D',
    dataDir,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  const r = spawnSync(init[0], init.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`initdb failed: ${r.stderr || r.stdout}`);
  const port = await freePort();
  const settings = [
    'listen_addresses=127.0.0.1',
    'fsync=off',
    'synchronous_commit=off',
    'full_page_writes=off',
    'max_connections=200',
  ];
  const args = asUser([
    join(bin, 'postgres'),
    '-D',
    dataDir,
    '-p',
    String(port),
    '-k',
    dir,
    ...settings.flatMap((s) => ['-c', s]),
  ]);
  const child = spawn(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  // postgres logs to stderr
  child.stderr.on('data', (c) => child.stdout.emit('data', c));
  await waitForOutput(child, /ready to accept connections/, 'postgres');
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
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
