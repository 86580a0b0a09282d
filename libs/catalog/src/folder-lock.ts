import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CatalogLockedError } from './catalog-locked-error';

const LOCK_FILE = 'herald.lock';

/**
 * An exclusive claim on a folder by this process: `<folder>/herald.lock`, created with O_EXCL and
 * holding our pid. The embedded catalog is for one process: separate api and worker processes need
 * PostgreSQL, and a second Herald started on the same folder by mistake is refused rather than let in.
 */
export class FolderLock {
  /** Folders locked by this process: a lock file with our own pid is ours only if we took it in this run. */
  private static readonly held = new Set<string>();

  private released = false;

  private constructor(
    readonly folder: string,
    readonly path: string,
  ) {}

  /** Takes the lock, taking over a stale one (its process is gone); throws CatalogLockedError if it is held. */
  static acquire(folder: string): FolderLock {
    const dir = resolve(folder);
    const path = join(dir, LOCK_FILE);
    for (let round = 0; round < 5; round++) {
      if (tryCreate(path)) {
        FolderLock.held.add(dir);
        return new FolderLock(dir, path);
      }
      const holder = readPid(path);
      if (holder === 'missing') continue;
      if (holder !== null && FolderLock.isHeldBy(dir, holder)) throw new CatalogLockedError(dir, holder);
      takeOverStale(path, holder);
    }
    throw new Error(`Could not take the lock ${path}: other processes keep taking it.`);
  }

  private static isHeldBy(dir: string, pid: number): boolean {
    // A lock with our own pid that we did not take is left by an earlier process that had our pid
    // (a restarted container often gets the same pid): it is stale.
    if (pid === process.pid) return FolderLock.held.has(dir);
    return isAlive(pid);
  }

  /** Removes the lock file if it is still ours. Safe to call twice. */
  release(): void {
    if (this.released) return;
    this.released = true;
    FolderLock.held.delete(this.folder);
    if (readPid(this.path) === process.pid) {
      try {
        unlinkSync(this.path);
      } catch (err) {
        if (codeOf(err) !== 'ENOENT') throw err;
      }
    }
  }
}

function tryCreate(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (err) {
    if (codeOf(err) === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The pid in the lock file; null when unreadable (a crash before the pid was written); 'missing' when gone. */
function readPid(path: string): number | null | 'missing' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return 'missing';
    throw err;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/**
 * Moves a stale lock aside rather than deleting it, then checks what was moved: if another process
 * took the lock over in between, its fresh lock is put back (link fails rather than overwrite).
 */
function takeOverStale(path: string, stalePid: number | null): void {
  const aside = `${path}.stale-${process.pid}-${Date.now()}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return;
    throw err;
  }
  const moved = readPid(aside);
  if (moved !== stalePid && moved !== 'missing') {
    try {
      linkSync(aside, path);
    } catch (err) {
      if (codeOf(err) !== 'EEXIST') throw err;
    }
  }
  unlinkSync(aside);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return codeOf(err) === 'EPERM';
  }
}

function codeOf(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}
