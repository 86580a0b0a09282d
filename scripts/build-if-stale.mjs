// `npm start`'s prestart: builds only when what the build reads changed since the last build, so the
// first start on a fresh clone builds and every later one starts in seconds. Plain JavaScript: it must
// run before there is any build.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const STAMP = join(ROOT, 'dist', '.build-inputs');
const ENTRY = join(ROOT, 'dist', 'apps', 'api', 'src', 'main.js');
const CLI_ENTRY = join(ROOT, 'packages', 'client', 'dist', 'cli', 'index.js');
/** tsconfig.build.json's exclusions: files the build does not read cannot make it stale. */
const NOT_BUILT = /\.(spec|test)\.ts$|test-support\.ts$/;
/** What the build writes itself (the typed client's types of the OpenAPI document). */
const GENERATED = join(ROOT, 'packages', 'client', 'src', 'generated');

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (path === GENERATED) continue;
    if (entry.isDirectory()) yield* sources(path);
    else if (!NOT_BUILT.test(entry.name)) yield path;
  }
}

/** One hash of every input's path and content: an added, removed, renamed or edited file changes it. */
export function buildInputsHash() {
  const files = [
    'tsconfig.json',
    'tsconfig.build.json',
    'package-lock.json',
    'packages/client/tsconfig.json',
  ].map((f) => join(ROOT, f));
  for (const top of ['apps', 'libs', 'packages']) {
    if (!existsSync(join(ROOT, top))) continue;
    for (const name of readdirSync(join(ROOT, top))) {
      const src = join(ROOT, top, name, 'src');
      if (existsSync(src)) files.push(...sources(src));
    }
  }
  const hash = createHash('sha256');
  for (const file of files.sort()) {
    hash.update(relative(ROOT, file)).update('\0');
    if (existsSync(file)) hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex');
}

const inputs = buildInputsHash();
if (
  existsSync(ENTRY) &&
  existsSync(CLI_ENTRY) &&
  existsSync(STAMP) &&
  readFileSync(STAMP, 'utf8').trim() === inputs
) {
  process.stdout.write('herald: the build is up to date\n');
} else {
  process.stdout.write('herald: building (the sources changed since the last build)\n');
  const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
  writeFileSync(STAMP, `${inputs}\n`);
}
