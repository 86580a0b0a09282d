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

/**
 * A private redis-server on a free loopback port, without persistence unless `extraArgs` (which override
 * the defaults, e.g. `['--appendonly', 'yes', '--dir', dir]`) say otherwise.
 */
export async function startRedis(extraArgs = []) {
  if (!onPath('redis-server')) {
    throw new Error(
      'redis-server is not on the PATH. Install it (Debian/Ubuntu: apt-get install -y redis-server) or set REDIS_URL to a Redis the tests may use.',
    );
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
      ...extraArgs,
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

/** Whether PostgreSQL's server binaries are installed under /usr/lib/postgresql/. */
export function postgresInstalled() {
  return postgresBinDir() !== null;
}

/**
 * A private PostgreSQL cluster in a temporary folder on a free port (trust auth, fsync off), run as
 * the postgres user when we are root (initdb refuses root).
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
    port,
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
