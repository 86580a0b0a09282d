// Memory (issue 7, goal 6), Herald and the reference service as child processes on the same private
// redis-server and HTTP sink:
// (a) idle RSS: a fresh process, a topic and one webhook subscription, 10 messages published and
//     delivered, then BENCH_IDLE_WAIT_S (10) seconds of nothing; VmRSS from /proc. Ratio herald/reference.
// (b) soak, in the processes of the last idle round, one side at a time: BENCH_SOAK_DELIVERIES
//     (1,000,000) one-subscriber deliveries, published in batches of 100 with at most BENCH_SOAK_WINDOW
//     (1,000) undelivered at a time, so the rate is what the machine sustains and no backlog builds
//     up; VmRSS sampled every second. RSS once 10 % were delivered against RSS at the end: the drift.
// Needs `npm run build` first. See bench/README.md for how to read it.
//
//   BENCH_ROUNDS=3 (idle only: the soak runs once per side)   BENCH_CATALOGS=embedded,postgres
//   BENCH_IDLE_WAIT_S=10   BENCH_SOAK_DELIVERIES=1000000   BENCH_SOAK_WINDOW=1000
import { setTimeout as delay } from 'node:timers/promises';
import {
  catalogKinds,
  createWebhookTopic,
  fmt,
  loadAverage,
  log,
  mb,
  mbRange,
  NO_POSTGRES,
  now,
  orderPayload,
  positiveInt,
  privateRedis,
  procMemory,
  publishTarget,
  rate,
  ROUNDS,
  runBenchmark,
  sampleRss,
  settle,
  startHerald,
  startHttpSink,
  startReference,
  untilCount,
} from './support.mjs';

const NAME = 'memory';
const IDLE_MESSAGES = 10;
const IDLE_WAIT_S = positiveInt('BENCH_IDLE_WAIT_S', 10);
const SOAK_DELIVERIES = positiveInt('BENCH_SOAK_DELIVERIES', 1_000_000);
const SOAK_WINDOW = positiveInt('BENCH_SOAK_WINDOW', 1000);
const BATCH = 100;
const PROGRESS_MS = 10_000;
const TOPIC = 'bench-orders';

await runBenchmark(NAME, async () => {
  const redis = await privateRedis();
  const sink = await startHttpSink();
  const kinds = catalogKinds();

  /** A fresh side: `reference`, or Herald on catalog `key` with its topic (null: no PostgreSQL). */
  async function startSide(key) {
    if (key === 'reference') return startReference({ redisUrl: redis.url, sink });
    const herald = await startHerald({ kind: key, redisUrl: redis.url });
    if (!herald) {
      log(`  herald (${key}): ${NO_POSTGRES}`);
      return null;
    }
    await createWebhookTopic(herald, TOPIC, [sink.url(`/herald/${key}`)]);
    return herald;
  }
  const keys = ['reference', ...kinds];

  /** Publishes `bodies` in one request (Herald's batch route, the reference's addBulk route). */
  async function publishBatch(side, bodies) {
    const target = publishTarget(side, TOPIC);
    const answer = await side.must('POST', target.batchPath, target.wrapBatch(bodies), 200, 202);
    const accepted = side.adminKey ? answer.results.filter((r) => r.messageId).length : answer.ids.length;
    if (accepted !== bodies.length) throw new Error(`${side.label} accepted ${accepted} of ${bodies.length}`);
  }

  // (a) Idle RSS, BENCH_ROUNDS times with fresh processes; all sides wait side by side. The last
  // round's processes go on to the soak.
  const idle = new Map();
  let sides = [];
  for (let round = 1; round <= ROUNDS; round++) {
    await settle(sink);
    await sink.reset();
    sides = [];
    for (const key of keys) {
      const side = await startSide(key);
      if (side) sides.push(side);
    }
    for (const side of sides) {
      const before = await sink.count();
      await publishBatch(
        side,
        Array.from({ length: IDLE_MESSAGES }, (_, i) => orderPayload(i)),
      );
      await untilCount(sink, before + IDLE_MESSAGES, `${side.label} idle messages`);
    }
    await delay(IDLE_WAIT_S * 1000);
    const parts = [];
    for (const side of sides) {
      const key = side.kind ?? 'reference';
      const { rss } = procMemory(side.pid);
      idle.set(key, [...(idle.get(key) ?? []), rss]);
      parts.push(`${side.label} ${mb(rss)}`);
      if (round < ROUNDS) await side.stop();
    }
    log(`  idle round ${round}: ${parts.join(', ')}`);
  }

  // (b) Soak, once per side, in the processes of the last idle round, one side at a time.
  const soaks = new Map();
  for (const side of sides) {
    const key = side.kind ?? 'reference';
    await settle(sink);
    await sink.reset();
    const started = now();
    const sampler = sampleRss(side.pid, 1000);
    let published = 0;
    let delivered = 0;
    let atTenth = null;
    let lastProgress = now();
    while (published < SOAK_DELIVERIES) {
      delivered = await sink.count();
      if (atTenth === null && delivered >= SOAK_DELIVERIES / 10) atTenth = procMemory(side.pid).rss;
      if (now() - lastProgress >= PROGRESS_MS) {
        lastProgress = now();
        log(
          `    ${side.label} soak: ${fmt(delivered)} of ${fmt(SOAK_DELIVERIES)} delivered, ` +
            `${fmt(rate(delivered, now() - started))}/s, RSS ${mb(procMemory(side.pid).rss)}`,
        );
      }
      if (published - delivered > SOAK_WINDOW - BATCH) {
        await delay(5);
        continue;
      }
      const n = Math.min(BATCH, SOAK_DELIVERIES - published);
      await publishBatch(
        side,
        Array.from({ length: n }, (_, i) => orderPayload(published + i)),
      );
      published += n;
    }
    await untilCount(sink, SOAK_DELIVERIES, `${side.label} soak`);
    const seconds = (now() - started) / 1000;
    if (!side.adminKey) await side.drain();
    const end = procMemory(side.pid).rss;
    const { samples } = sampler.stop();
    atTenth ??= samples[0][1];
    const all = samples.map(([, r]) => r);
    const soak = {
      atTenth,
      end,
      min: Math.min(...all),
      max: Math.max(...all),
      perSecond: SOAK_DELIVERIES / seconds,
    };
    soaks.set(key, soak);
    log(
      `  ${side.label} soak: ${fmt(SOAK_DELIVERIES)} deliveries in ${fmt(seconds)} s (${fmt(soak.perSecond)}/s), ` +
        `RSS ${mb(atTenth)} at 10 % → ${mb(end)} at the end (${drift(soak)})`,
    );
    await side.stop();
  }

  const lowest = (key) => Math.min(...idle.get(key));
  const spread = (key) => mbRange(idle.get(key));
  const ref = soaks.get('reference');
  for (const kind of kinds.filter((k) => idle.has(k))) {
    const soak = soaks.get(kind);
    console.log(
      `${NAME}: idle RSS reference ${mb(lowest('reference'))}, herald ${mb(lowest(kind))}, ratio ${(lowest(kind) / lowest('reference')).toFixed(2)} ` +
        `(${kind}, after ${IDLE_MESSAGES} messages and ${IDLE_WAIT_S} s idle, lowest of ${ROUNDS}: herald ${spread(kind)}, ` +
        `reference ${spread('reference')}); soak ${fmt(SOAK_DELIVERIES)} deliveries: herald RSS ${mb(soak.atTenth)} at 10 % → ` +
        `${mb(soak.end)} at the end, drift ${drift(soak)} (${mbRange([soak.min, soak.max])} over the run, ${fmt(soak.perSecond)} deliveries/s), ` +
        `reference ${mb(ref.atTenth)} → ${mb(ref.end)}, drift ${drift(ref)} (${fmt(ref.perSecond)}/s); load ${loadAverage()})`,
    );
  }
});

function drift({ atTenth, end }) {
  const pct = ((end - atTenth) / atTenth) * 100;
  return `${pct >= 0 ? '+' : ''}${pct.toFixed(1)} %`;
}
