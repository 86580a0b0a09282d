import type { HeraldConfig } from '@herald/config';
import type { HeraldMetrics, MetricsSnapshot } from '@herald/runtime';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WorkerThreads } from './worker-threads';

// Real worker threads running small stand-ins for worker-thread.js, speaking its protocol: what the
// main thread does when one starts, fails to start, dies, or stops when asked.
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const mode = workerData.config.mode;
if (mode === 'fail-at-start') throw new Error('cannot reach Redis at start');
if (mode === 'exit-at-start') process.exit(3);
parentPort.postMessage({ type: 'ready' });
parentPort.on('message', (m) => {
  if (m.type === 'stop') process.exit(0);
  if (m.type === 'metrics' && mode === 'crash-on-metrics') throw new Error('thread crashed');
  if (m.type === 'metrics' && mode === 'exit-on-metrics') process.exit(0);
  if (m.type === 'metrics') parentPort.postMessage({ type: 'metrics', id: m.id, metrics: [{ name: 'n', index: workerData.index }] });
});
`;

describe('WorkerThreads', () => {
  let dir: string;
  let entry: string;
  let exits: unknown[];
  let fatal: Array<Record<string, unknown>>;
  let running: WorkerThreads | null;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'herald-threads-'));
    entry = join(dir, 'thread.js');
    writeFileSync(entry, THREAD);
    exits = [];
    fatal = [];
    running = null;
    // process.exit ends the whole test run: record the call instead.
    vi.spyOn(process, 'exit').mockImplementation(((code?: number) => {
      exits.push(code);
    }) as never);
  });

  afterEach(async () => {
    await running?.beforeApplicationShutdown();
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Threads of `mode`, their metrics source captured; the fatal log lines collected. */
  function threads(mode: string, count = 1) {
    const config = {
      mode,
      roles: new Set(['api', 'worker']),
      databaseUrl: 'postgres://127.0.0.1/unused',
      workerThreads: count,
    } as unknown as HeraldConfig;
    const sources: Array<() => Promise<MetricsSnapshot>> = [];
    const metrics = { addSource: (s: () => Promise<MetricsSnapshot>) => sources.push(s) };
    const log = pino(
      { level: 'fatal' },
      { write: (line: string) => fatal.push(JSON.parse(line) as Record<string, unknown>) },
    );
    running = new WorkerThreads(config, log, metrics as unknown as HeraldMetrics);
    return { threads: running, sources };
  }

  it('starts every thread, adds up their metrics, and stops them without ending the process', async () => {
    const { threads: t, sources } = threads('healthy', 2);
    await t.run(entry);
    expect(sources).toHaveLength(1);
    const snapshot = (await sources[0]()) as unknown as Array<{ index: number }>;
    expect(snapshot.map((m) => m.index).sort()).toEqual([0, 1]);
    await t.beforeApplicationShutdown();
    expect(exits).toEqual([]);
    expect(fatal).toEqual([]);
  });

  it('refuses to start when a thread fails while starting, with its error', async () => {
    await expect(threads('fail-at-start').threads.run(entry)).rejects.toThrow(
      'A worker thread could not start: cannot reach Redis at start',
    );
    expect(exits).toEqual([]);
  });

  it('refuses to start when a thread ends while starting, with its exit code', async () => {
    await expect(threads('exit-at-start').threads.run(entry)).rejects.toThrow(
      'A worker thread ended while starting (exit code 3).',
    );
  });

  it('refuses to start without the built thread entry, saying how to run without threads', async () => {
    await expect(threads('healthy').threads.run(null)).rejects.toThrow(
      /npm run build.*HERALD_WORKER_THREADS=0/,
    );
  });

  it.each([
    { mode: 'crash-on-metrics', why: 'thread crashed' },
    { mode: 'exit-on-metrics', why: 'exit code 0' },
  ])('ends the process with exit code 1 when a running thread stops ($why)', async ({ mode, why }) => {
    const { threads: t, sources } = threads(mode);
    await t.run(entry);
    // The metrics request is what makes this stand-in stop; the scrape goes on without its counts.
    await sources[0]();
    await vi.waitFor(() => expect(exits).toEqual([1]));
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({
      thread: 'worker-0',
      err: why,
      msg: 'a worker thread stopped: Herald exits',
    });
  });
});
