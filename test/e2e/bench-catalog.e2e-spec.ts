import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildHerald, type HeraldBuild } from '../support/build';

const ROOT = resolve(__dirname, '..', '..');

/** The catalog benchmark with tiny sizes: it must run to its end and print its result line. */
describe('bench/catalog.mjs', () => {
  let build: HeraldBuild;

  beforeAll(async () => {
    build = await buildHerald();
  });
  afterAll(() => build?.remove());

  it('runs with 2,000 rows and prints its result line', async () => {
    const child = spawn(process.execPath, ['bench/catalog.mjs'], {
      cwd: ROOT,
      env: {
        ...process.env,
        HERALD_DIST: build.dir,
        DATABASE_URL: inject('postgresUrl'),
        BENCH_CATALOG_ROWS: '2000',
        BENCH_CATALOG_BATCHES: '2',
        BENCH_CATALOG_ROUNDS: '1',
        BENCH_CATALOG_REQUESTS: '5',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((done) => child.once('exit', done));
    expect(code, stderr.slice(-3000)).toBe(0);
    expect(stdout).toMatch(
      /^catalog: [\d,]+ deliveries over 30 daily partitions; writes [\d,]+ events\/s first attempts \(empty [\d,]+, ratio [\d.]+\), [\d,]+ events\/s retry mix .*; admin lists p50\/p99 ms: subscription deliveries [\d.]+\/[\d.]+, dead letters [\d.]+\/[\d.]+, message deliveries [\d.]+\/[\d.]+; drop one day \d+ ms$/m,
    );
    expect(stderr).toMatch(/retention: a run dropped deliveries_p\d{8}, messages_p\d{8}/);
  });
});
