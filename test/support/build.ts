import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface HeraldBuild {
  /** The build's root: `<dir>/apps/api/src/main.js` is `npm start`, `<dir>/apps/worker/src/main.js` a worker. */
  dir: string;
  apiMain: string;
  workerMain: string;
  remove(): void;
}

const ROOT = resolve(__dirname, '..', '..');

/**
 * Builds Herald the way `npm run build` does (tsc, then tsc-alias for the `@herald/*` paths) into a
 * private folder under node_modules/.cache, so that the built files find the repository's
 * node_modules and never touch dist/ (other test files or a running `npm start` may use it).
 * Type checking is `npm run typecheck`'s job: `--noCheck` emits the same files, and a type error in
 * a file someone else is editing does not stop these tests.
 */
export async function buildHerald(): Promise<HeraldBuild> {
  const dir = join(ROOT, 'node_modules', '.cache', 'herald-e2e-build', randomBytes(6).toString('hex'));
  mkdirSync(dir, { recursive: true });
  const tsconfig = join(ROOT, 'tsconfig.build.json');
  await run(['tsc', '-p', tsconfig, '--outDir', dir, '--noCheck']);
  await run(['tsc-alias', '-p', tsconfig, '--outDir', dir]);
  const build: HeraldBuild = {
    dir,
    apiMain: join(dir, 'apps', 'api', 'src', 'main.js'),
    workerMain: join(dir, 'apps', 'worker', 'src', 'main.js'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
  for (const main of [build.apiMain, build.workerMain]) {
    if (!existsSync(main)) throw new Error(`the build did not produce ${main}`);
  }
  return build;
}

/** Runs a tool from node_modules/.bin in the repository; rejects with its output when it fails. */
export async function run(args: string[]): Promise<void> {
  const bin = join(ROOT, 'node_modules', '.bin', args[0]);
  const child = spawn(bin, args.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const code = await new Promise<number | null>((resolveExit, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolveExit(c));
  });
  if (code !== 0) throw new Error(`${args.join(' ')} failed with code ${code}:\n${output.slice(-4000)}`);
}
