import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];
const DIRS = ['apps', 'libs', 'packages', 'scripts'];

export interface CheckoutCopy {
  dir: string;
  remove(): void;
}

/**
 * What `npm run build` reads, copied to a temporary folder that shares the repository's node_modules:
 * there `npm start` builds (dist/, packages/client/dist) without touching the repository's own builds.
 */
export function copyCheckout(prefix: string): CheckoutCopy {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const item of FILES) cpSync(join(ROOT, item), join(dir, item));
  for (const item of DIRS) {
    cpSync(join(ROOT, item), join(dir, item), {
      recursive: true,
      filter: (src) => !['dist', 'node_modules'].includes(basename(src)),
    });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
