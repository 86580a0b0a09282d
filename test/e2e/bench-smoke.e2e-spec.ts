import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildHerald, type HeraldBuild } from '../support/build';

const ROOT = resolve(__dirname, '..', '..');

/** Sizes small enough to run in seconds; one round, one reference concurrency, the embedded catalog. */
const TINY = {
  BENCH_ROUNDS: '1',
  BENCH_DURATION_S: '1',
  BENCH_CONNECTIONS: '4',
  BENCH_CATALOGS: 'embedded',
  BENCH_REFERENCE_CONCURRENCY: '50',
  BENCH_BASELINE_CONCURRENCY: '50',
  BENCH_RATES: '20,50',
  BENCH_FANOUT_SUBSCRIPTIONS: '200',
  BENCH_SOAK_DELIVERIES: '300',
  BENCH_IDLE_WAIT_S: '1',
  BENCH_DELIVERIES: '1000',
  BENCH_SUBSCRIPTIONS: '10',
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const running = new Set<ChildProcess>();
/** At most this many benchmarks at once: each starts its own redis-server, sink and Herald processes. */
const SLOTS = 3;
let free = SLOTS;
const queued: Array<() => void> = [];

async function runBenchmark(file: string, env: Record<string, string>): Promise<Run> {
  if (free > 0) free--;
  else await new Promise<void>((resolveSlot) => queued.push(resolveSlot));
  try {
    const child = spawn(process.execPath, [join(ROOT, 'bench', file)], {
      cwd: ROOT,
      env: { ...process.env, ...TINY, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    return await new Promise((resolveRun, reject) => {
      child.once('error', reject);
      child.once('close', (code) => {
        running.delete(child);
        resolveRun({ code, stdout, stderr });
      });
    });
  } finally {
    const next = queued.shift();
    if (next) next();
    else free++;
  }
}

/** SIGTERM to benchmarks still running (a test that timed out): each cleans up its own processes. */
async function stopRunning(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolveStop) => {
          child.once('close', () => resolveStop());
          child.kill('SIGTERM');
        }),
    ),
  );
}

/** The benchmark's result lines: stdout lines starting with `<name>:`. */
function results(name: string, run: Run): string[] {
  return run.stdout.split('\n').filter((line) => line.startsWith(`${name}:`));
}

/**
 * Each benchmark in bench/ runs against a private build, with tiny sizes, and prints its result
 * lines with the right counts. Never how fast: these are smoke runs on a shared machine.
 */
describe('benchmarks (smoke runs, tiny sizes)', () => {
  let build: HeraldBuild;
  let env: Record<string, string>;

  beforeAll(async () => {
    build = await buildHerald();
    // DATABASE_URL only serves the postgres variant (a fresh database in that server).
    env = { HERALD_DIST: build.dir, DATABASE_URL: inject('postgresUrl') };
  });
  afterAll(async () => {
    await stopRunning();
    build?.remove();
  });

  /** [file, extra env, what each result line must say (one line per catalog variant), what stderr must say] */
  const cases: Array<[string, Record<string, string>, RegExp[], RegExp?]> = [
    [
      'one-subscriber.mjs',
      {},
      [
        /^one-subscriber: reference [\d,]+ msg\/s, herald [\d,]+ msg\/s, ratio [\d.]+ \(embedded, c=4, 1 s, best of 1;.* record lag max /,
      ],
    ],
    [
      'publish-only.mjs',
      { BENCH_CATALOGS: 'embedded,postgres' },
      [
        /^publish-only: reference [\d,]+ req\/s, herald [\d,]+ req\/s, ratio [\d.]+ \(embedded, HERALD_ROLES=api, c=4, 1 s, 1024-byte body/,
        /^publish-only: reference [\d,]+ req\/s, herald [\d,]+ req\/s, ratio [\d.]+ \(postgres, HERALD_ROLES=api,/,
      ],
    ],
    [
      'latency.mjs',
      {},
      [
        /^latency: 20\/s herald p50 [\d.,]+ ms p99 .*; 50\/s herald p50 [\d.,]+ ms p99 .* \(embedded, 1 s per rate/,
      ],
    ],
    [
      'fanout-100k.mjs',
      {},
      [
        /^fanout-100k: reference [\d,]+ deliveries\/s, herald [\d,]+ deliveries\/s, ratio [\d.]+ \(embedded, 200 subscriptions, .*herald .*every delivery made exactly once in each run \(200 of 200\).* reference .*every delivery made exactly once in each run/,
      ],
    ],
    [
      'memory.mjs',
      {},
      [
        /^memory: idle RSS reference [\d,]+ MB, herald [\d,]+ MB, ratio [\d.]+ \(embedded, .*soak 300 deliveries: herald RSS/,
      ],
    ],
    [
      'webhook-fanout.mjs',
      {},
      [
        /^webhook-fanout: baseline [\d,]+ deliveries\/s, herald [\d,]+ deliveries\/s .*catalog embedded, N=1000,/,
      ],
    ],
    ['filter-policy.mjs', {}, [/^filter-policy: 1,000,000 evaluations in /]],
    [
      'catalog.mjs',
      {
        BENCH_CATALOG_ROWS: '2000',
        BENCH_CATALOG_BATCHES: '2',
        BENCH_CATALOG_ROUNDS: '1',
        BENCH_CATALOG_REQUESTS: '5',
      },
      [
        /^catalog: [\d,]+ deliveries over 30 daily partitions; writes [\d,]+ events\/s first attempts \(empty [\d,]+, ratio [\d.]+\), [\d,]+ events\/s retry mix .*; admin lists p50\/p99 ms: subscription deliveries [\d.]+\/[\d.]+, dead letters [\d.]+\/[\d.]+, message deliveries [\d.]+\/[\d.]+; drop one day \d+ ms$/,
      ],
      /retention: a run dropped deliveries_p\d{8}, messages_p\d{8}/,
    ],
    [
      'cluster-wait.mjs',
      { BENCH_DURATION_S: '1', BENCH_CONNECTIONS: '2' },
      [
        /^cluster-wait: WAIT=0 [\d,]+ publishes\/s, WAIT=1 [\d,]+ publishes\/s, ratio [\d.]+ \(3 masters \+ 3 replicas, 6 shards, .*per delivery [\d.]+ Redis commands, payload key [\d,]+ bytes/,
        /^cluster-wait: workers 1 → 2: [\d,]+ → [\d,]+ deliveries\/s, ratio [\d.]+ \(one API process, .*worker CPU per delivery [\d.]+ → [\d.]+ ms/,
      ],
      /WAIT=1: [\d,]+ publishes\/s .*non-2xx 0, errors 0\); per delivery .*catalog rows messages [\d.]+, deliveries [\d.]+/,
    ],
  ];

  // Side by side, SLOTS at a time: each benchmark has its own private redis-server, sink and Herald.
  it.concurrent.each(cases)(
    '%s runs and prints its result lines',
    async (file, extra, expected, stderrPattern) => {
      const run = await runBenchmark(file, { ...env, ...extra });
      const name = file.replace(/\.mjs$/, '');
      const lines = results(name, run);
      const context = `exit ${run.code}\n--- stdout\n${run.stdout}\n--- stderr (end)\n${run.stderr.slice(-6000)}`;
      expect(run.code, context).toBe(0);
      expect(lines, context).toHaveLength(expected.length);
      expected.forEach((pattern, i) => expect(lines[i], context).toMatch(pattern));
      if (stderrPattern) expect(run.stderr, context).toMatch(stderrPattern);
    },
    240_000,
  );
});
