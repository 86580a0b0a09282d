import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const CLIENT = join(ROOT, 'packages', 'client');

export interface PackedClient {
  /** The unpacked tarball's `package/` folder: what `npm install @herald/client` would put in place. */
  dir: string;
  /** `bin/herald.mjs` in it. */
  bin: string;
  /** The paths `npm pack` put in the tarball. */
  files: string[];
  remove(): void;
}

/** Runs a command; resolves with its stdout, rejects with its output when it fails. */
export async function runCommand(file: string, args: string[], cwd: string): Promise<string> {
  const child = spawn(file, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let output = '';
  child.stdout.on('data', (c: Buffer) => ((stdout += c.toString()), (output += c.toString())));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const code = await new Promise<number | null>((done, reject) => {
    child.once('error', reject);
    child.once('close', (c) => done(c));
  });
  if (code !== 0)
    throw new Error(`${file} ${args.join(' ')} failed with code ${code}:\n${output.slice(-4000)}`);
  return stdout;
}

/**
 * `npm pack` of packages/client, for real (its `prepack` builds it), from a copy under node_modules/.cache
 * so that packages/client/dist is never touched; then the tarball unpacked beside it. The unpacked
 * package finds its dependencies in the repository's node_modules, as an installed one would in its own.
 */
export async function packClient(): Promise<PackedClient> {
  const work = join(ROOT, 'node_modules', '.cache', 'herald-client-pack', randomBytes(6).toString('hex'));
  const source = join(work, 'source');
  mkdirSync(source, { recursive: true });
  for (const item of ['package.json', 'tsconfig.json', 'README.md', 'openapi.json', 'bin', 'src']) {
    cpSync(join(CLIENT, item), join(source, item), { recursive: true });
  }
  const packed = JSON.parse(
    await runCommand('npm', ['pack', '--json', '--pack-destination', work], source),
  ) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  const unpacked = join(work, 'unpacked');
  mkdirSync(unpacked);
  await runCommand('tar', ['-xzf', join(work, packed[0].filename), '-C', unpacked], work);
  const dir = join(unpacked, 'package');
  return {
    dir,
    bin: join(dir, 'bin', 'herald.mjs'),
    files: packed[0].files.map((f) => f.path).sort(),
    remove: () => rmSync(work, { recursive: true, force: true }),
  };
}
