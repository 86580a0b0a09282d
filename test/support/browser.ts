import { chromium, type Browser } from 'playwright-core';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { run } from './build';

const ROOT = resolve(__dirname, '..', '..');
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Debian's chromium, headless, driven by playwright-core (which downloads no browser of its own).
 * The flags keep it from calling home: the test's traffic stays on loopback.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's package (apt-get install -y chromium)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Builds the console as `npm run build` does, into a private folder (dist/ may be in use by a running
 * `npm start`); the caller serves it with `startHerald(…, { consoleDir })`.
 */
export async function buildConsole(): Promise<{ dir: string; remove: () => void }> {
  const dir = join(ROOT, 'node_modules', '.cache', 'herald-console-build', randomBytes(6).toString('hex'));
  mkdirSync(dir, { recursive: true });
  await run(['vite', 'build', '--config', 'apps/console/vite.config.mts', '--outDir', dir]);
  if (!existsSync(join(dir, 'index.html'))) throw new Error(`vite build wrote no ${join(dir, 'index.html')}`);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
