// Private redis-server and PostgreSQL on free loopback ports, for the tests (through servers.ts) and the
// benchmarks (bench/support.mjs) alike. Plain JavaScript so that benchmarks run it without a build.
import { spawn, spawnSync } from 'node:child_process';
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

/** Whether a command is on the PATH. */
export function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** Resolves once the child's stdout matches `pattern`; rejects, with its last output, if it exits first. */
export function waitForOutput(child, pattern, what) {
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

/** Stops a child process with SIGTERM and resolves once it has exited. */
export function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Sends `signal` to `pid`; a process that has already gone is not an error. */
function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if (err.code !== 'ESRCH') throw err;
  }
}

/** `signal` to the child unless it has exited (its pid may belong to another process by then). */
function signalChild(child, sig) {
  if (child.exitCode === null && child.signalCode === null) signal(child.pid, sig);
}

/** Resolves once the child has exited (at once if it already has). */
function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * A private redis-server on a free loopback port, without persistence unless told otherwise.
 * `options` is either extra arguments (which override the defaults, e.g. `['--maxmemory-policy',
 * 'allkeys-lru']`) or `{ args, port, dir, durable }`: a fixed port, a data folder of its own (made in
 * the temporary folder when `durable` is set without one, removed by `stop()`), and `durable` for
 * `appendonly yes` with `appendfsync always`, so that what Redis acknowledged survives a SIGKILL.
 * The server can be paused (SIGSTOP, a hung server), resumed, killed and restarted on the same port
 * and folder, for outage tests.
 */
export async function startRedis(options = []) {
  if (!onPath('redis-server')) {
    throw new Error(
      'redis-server is not on the PATH. Install it (Debian/Ubuntu: apt-get install -y redis-server) or set REDIS_URL to a Redis the tests may use.',
    );
  }
  const opts = Array.isArray(options) ? { args: options } : options;
  const port = opts.port ?? (await freePort());
  const ownDir = opts.durable && !opts.dir ? mkdtempSync(join(tmpdir(), 'herald-redis-')) : null;
  const dir = opts.dir ?? ownDir;
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    opts.durable ? 'yes' : 'no',
    ...(opts.durable ? ['--appendfsync', 'always'] : []),
    ...(dir ? ['--dir', dir] : []),
    '--maxmemory-policy',
    'noeviction',
    ...(opts.args ?? []),
  ];
  let child = null;
  const launch = async () => {
    child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    await waitForOutput(child, /Ready to accept connections/, 'redis-server');
  };
  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get pid() {
      return child.pid;
    },
    pause: async () => signalChild(child, 'SIGSTOP'),
    resume: async () => signalChild(child, 'SIGCONT'),
    kill: async (sig = 'SIGKILL') => {
      const done = exited(child);
      signalChild(child, 'SIGCONT');
      signalChild(child, sig);
      await done;
    },
    restart: async () => {
      if (child.exitCode === null && child.signalCode === null)
        throw new Error('redis-server is still running');
      await launch();
    },
    stop: async () => {
      signalChild(child, 'SIGCONT');
      await stopChild(child);
      if (ownDir) rmSync(ownDir, { recursive: true, force: true });
    },
  };
}

function postgresBinDir() {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], 'bin') : null;
}

/** Whether PostgreSQL's server binaries are installed under /usr/lib/postgresql/. */
export function postgresInstalled() {
  return postgresBinDir() !== null;
}

/**
 * A private PostgreSQL cluster in a temporary folder on a free port (trust auth, fsync off), run as
 * the postgres user when we are root (initdb refuses root). For outage tests it can be paused
 * (SIGSTOP of the postmaster and of every child it has: backends are process groups of their own, so
 * one signal to a group would miss them), resumed, shut down (`kill('SIGINT')` is a fast shutdown,
 * `'SIGQUIT'` an immediate one, as a crash) and started again on the same folder and port.
 */
export async function startPostgres() {
  const bin = postgresBinDir();
  if (!bin) {
    throw new Error(
      'PostgreSQL binaries were not found under /usr/lib/postgresql/*/bin. Install PostgreSQL (Debian/Ubuntu: apt-get install -y postgresql) or set DATABASE_URL=postgres://… to a server the tests may use.',
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'herald-pg-'));
  const dataDir = join(dir, 'data');
  const isRoot = process.getuid?.() === 0;
  const ids = isRoot
    ? {
        uid: Number(spawnSync('id', ['-u', 'postgres']).stdout.toString()),
        gid: Number(spawnSync('id', ['-g', 'postgres']).stdout.toString()),
      }
    : {};
  mkdirSync(dataDir);
  if (isRoot) {
    chownSync(dir, ids.uid, ids.gid);
    chownSync(dataDir, ids.uid, ids.gid);
  }
  const init = spawnSync(
    join(bin, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'],
    { encoding: 'utf8', cwd: dir, ...ids },
  );
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  const port = await freePort();
  const settings = [
    'listen_addresses=127.0.0.1',
    'fsync=off',
    'synchronous_commit=off',
    'full_page_writes=off',
    'max_connections=200',
  ];
  const args = ['-D', dataDir, '-p', String(port), '-k', dir, ...settings.flatMap((s) => ['-c', s])];
  let child = null;
  const launch = async () => {
    // Run as the postgres user directly (not through runuser), so the child is the postmaster itself.
    child = spawn(join(bin, 'postgres'), args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir, ...ids });
    // postgres logs to stderr
    child.stderr.on('data', (c) => child.stdout.emit('data', c));
    await waitForOutput(child, /ready to accept connections/, 'postgres');
  };
  /** The postmaster and its children now: the backends, and the server's own processes. */
  const processes = () => {
    if (child.exitCode !== null || child.signalCode !== null) return [];
    const children = spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).stdout;
    return [child.pid, ...children.split('\n').filter(Boolean).map(Number)];
  };
  await launch();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir: dataDir,
    get pid() {
      return child.pid;
    },
    // The postmaster first, so it forks no new backend while its children are being stopped.
    pause: async () => {
      for (const pid of processes()) signal(pid, 'SIGSTOP');
    },
    resume: async () => {
      for (const pid of processes().reverse()) signal(pid, 'SIGCONT');
    },
    kill: async (sig = 'SIGINT') => {
      const done = exited(child);
      for (const pid of processes()) signal(pid, 'SIGCONT');
      signalChild(child, sig);
      await done;
    },
    restart: async () => {
      if (child.exitCode === null && child.signalCode === null) throw new Error('postgres is still running');
      await launch();
    },
    stop: async () => {
      for (const pid of processes()) signal(pid, 'SIGCONT');
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
