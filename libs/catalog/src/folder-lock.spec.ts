import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from './catalog';
import { CatalogLockedError } from './catalog-locked-error';
import { FolderLock } from './folder-lock';

/** The lock module compiled to CommonJS, so a plain `node` child process can use the same code. */
function compileLockModule(into: string): string {
  for (const name of ['folder-lock', 'catalog-locked-error']) {
    const source = readFileSync(join(__dirname, `${name}.ts`), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    });
    writeFileSync(join(into, `${name}.js`), outputText);
  }
  return join(into, 'folder-lock.js');
}

interface LockingChild {
  child: ChildProcess;
  /** Resolves once the child exited and its output streams closed. */
  done: Promise<{ code: number | null; stderr: string }>;
}

/**
 * A child process that takes the lock on `folder`: prints `locked` and holds it until its stdin
 * closes, then exits without releasing (as a crash would); on refusal prints the error and exits 3.
 */
function lockInChild(modulePath: string, folder: string): LockingChild {
  const script = `
    const { FolderLock } = require(${JSON.stringify(modulePath)});
    try { FolderLock.acquire(${JSON.stringify(folder)}); }
    catch (err) { process.stderr.write(err.name + ': ' + err.message); process.exit(3); }
    process.stdout.write('locked\\n');
    process.stdin.on('end', () => process.exit(0));
    process.stdin.resume();
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.once('close', (code) => resolve({ code, stderr })),
  );
  return { child, done };
}

function printed(child: ChildProcess, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (pattern.test(text)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`child exited with ${code} before printing ${pattern}`)));
  });
}

/** The pid of a process that has already exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

describe('FolderLock', () => {
  let dir: string;
  let modulePath: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'herald-lock-'));
    mkdirSync(join(dir, 'compiled'));
    modulePath = compileLockModule(join(dir, 'compiled'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function folder(name: string): string {
    const path = join(dir, name);
    mkdirSync(path, { recursive: true });
    return path;
  }

  it('writes our pid, refuses a second taker in this process, and removes the file on release', () => {
    const f = folder('basic');
    const lock = FolderLock.acquire(f);
    expect(readFileSync(join(f, 'herald.lock'), 'utf8').trim()).toBe(String(process.pid));
    const err = (() => {
      try {
        FolderLock.acquire(f);
        return null;
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CatalogLockedError);
    expect((err as CatalogLockedError).pid).toBe(process.pid);
    lock.release();
    lock.release();
    expect(existsSync(join(f, 'herald.lock'))).toBe(false);
    FolderLock.acquire(f).release();
  });

  it('takes over a lock left by a process that is gone', async () => {
    const f = folder('stale');
    writeFileSync(join(f, 'herald.lock'), `${await deadPid()}\n`);
    const lock = FolderLock.acquire(f);
    expect(readFileSync(join(f, 'herald.lock'), 'utf8').trim()).toBe(String(process.pid));
    lock.release();
  });

  it('takes over an unreadable lock and one left by an earlier process that had our pid', () => {
    const f = folder('odd');
    writeFileSync(join(f, 'herald.lock'), '');
    FolderLock.acquire(f).release();
    writeFileSync(join(f, 'herald.lock'), `${process.pid}\n`);
    const lock = FolderLock.acquire(f);
    expect(() => FolderLock.acquire(f)).toThrow(CatalogLockedError);
    lock.release();
  });

  it('refuses a folder another live process holds, then takes it over once that process died', async () => {
    const f = folder('child-holds');
    const { child, done } = lockInChild(modulePath, f);
    await printed(child, /locked/);
    try {
      const err = await Catalog.open(f).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CatalogLockedError);
      expect((err as CatalogLockedError).pid).toBe(child.pid);
      expect((err as Error).message).toContain(
        `The embedded catalog at ${f} is already open in process ${child.pid}. The embedded catalog serves one process; ` +
          'run api and workers in one process (HERALD_ROLES=api,worker) or use PostgreSQL (DATABASE_URL=postgres://…).',
      );
    } finally {
      child.stdin?.end();
    }
    expect(await done).toEqual({ code: 0, stderr: '' });
    // The child exited without releasing, as a crashed process would: its lock is stale now.
    expect(readFileSync(join(f, 'herald.lock'), 'utf8').trim()).toBe(String(child.pid));
    const catalog = await Catalog.open(f);
    try {
      await catalog.topics.create({ name: 'after-takeover' });
    } finally {
      await catalog.close();
    }
    expect(existsSync(join(f, 'herald.lock'))).toBe(false);
  });

  it('makes a second process that opens an open catalog exit with the clear message', async () => {
    const f = folder('parent-holds');
    const catalog = await Catalog.open(f);
    try {
      await expect(Catalog.open(f)).rejects.toBeInstanceOf(CatalogLockedError);
      const { code, stderr } = await lockInChild(modulePath, f).done;
      expect(code).toBe(3);
      expect(stderr).toBe(
        `CatalogLockedError: The embedded catalog at ${f} is already open in process ${process.pid}. ` +
          'The embedded catalog serves one process; run api and workers in one process (HERALD_ROLES=api,worker) ' +
          `or use PostgreSQL (DATABASE_URL=postgres://…). If no such process is running, delete ${f}/herald.lock.`,
      );
      await expect(catalog.ping()).resolves.toBeUndefined();
    } finally {
      await catalog.close();
    }
    expect(existsSync(join(f, 'herald.lock'))).toBe(false);
  });
});
