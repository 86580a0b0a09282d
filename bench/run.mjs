// Runs every benchmark in bench/ (each *.mjs except this runner, support.mjs and *.child.mjs), one at
// a time, each in a fresh Node process, then repeats their result lines together.
//
//   npm run bench                  build, then run them all
//   npm run bench -- webhook       only those whose file name contains "webhook"
//   node bench/run.mjs [filter]    the same without building first
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const NOT_BENCHMARKS = new Set(['run.mjs', 'support.mjs']);

const files = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && !f.endsWith('.child.mjs') && !NOT_BENCHMARKS.has(f))
  .filter((f) => filters.length === 0 || filters.some((word) => f.includes(word)))
  .sort();

if (files.length === 0) {
  const known = readdirSync(here).filter(
    (f) => f.endsWith('.mjs') && !f.endsWith('.child.mjs') && !NOT_BENCHMARKS.has(f),
  );
  console.error(`No benchmark matches ${filters.join(', ')}. Benchmarks: ${known.join(', ')}`);
  process.exit(2);
}

/** Runs one benchmark, echoing its output; resolves with its result lines ("name: …" on stdout). */
function runOne(file) {
  const name = basename(file, '.mjs');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(here, file)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      process.stdout.write(chunk);
    });
    child.on('exit', (code, signal) => {
      const results = out.split('\n').filter((line) => line.startsWith(`${name}:`));
      resolve({ name, ok: code === 0, status: signal ?? code, results });
    });
  });
}

const outcomes = [];
for (const file of files) {
  console.error(`\n▶ ${file}`);
  outcomes.push(await runOne(file));
}

console.log('\nResults');
for (const o of outcomes) {
  if (!o.ok) console.log(`${o.name}: FAILED (exit ${o.status})`);
  for (const line of o.results) console.log(line);
}
process.exit(outcomes.every((o) => o.ok) ? 0 : 1);
