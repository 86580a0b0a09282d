import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, chownSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

async function waitForOutput(child: ChildProcess, pattern: RegExp, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (pattern.test(out)) {
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${what} exited with code ${code}:\n${out.slice(-2000)}`)));
  });
}

export interface RunningServer {
  url: string;
  stop(): Promise<void>;
}

/** Starts a private redis-server on a free loopback port (no persistence). */
export async function startRedis(): Promise<RunningServer> {
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
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await waitForOutput(child, /Ready to accept connections/, 'redis-server');
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () => stopChild(child),
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

function postgresBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], 'bin') : null;
}

/** Starts a private PostgreSQL cluster in a temporary folder on a free port (trust auth, fsync off). */
export async function startPostgres(): Promise<RunningServer> {
  const bin = postgresBinDir();
  if (!bin) {
    throw new Error(
      'PostgreSQL binaries were not found under /usr/lib/postgresql/*/bin. Install PostgreSQL (Debian/Ubuntu: apt-get install -y postgresql) or set DATABASE_URL=postgres://… to a server the tests may use.',
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'herald-pg-'));
  const dataDir = join(dir, 'data');
  const isRoot = process.getuid?.() === 0;
  // initdb refuses to run as root: run the cluster as the postgres user then.
  const asUser = (args: string[]) => (isRoot ? ['runuser', '-u', 'postgres', '--', ...args] : args);
  mkdirSync(dataDir);
  if (isRoot) {
    const pw = spawnSync('id', ['-u', 'postgres']);
    const gid = spawnSync('id', ['-g', 'postgres']);
    chownSync(dir, Number(pw.stdout.toString()), Number(gid.stdout.toString()));
    chownSync(dataDir, Number(pw.stdout.toString()), Number(gid.stdout.toString()));
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
  const args = asUser([
    join(bin, 'postgres'),
    '-D',
    dataDir,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=200',
  ]);
  const child = spawn(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  // postgres logs to stderr
  child.stderr?.on('data', (c: Buffer) => child.stdout?.emit('data', c));
  await waitForOutput(child, /ready to accept connections/, 'postgres');
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
