// Publish → receipt latency at steady rates, one subscriber (issue 7, goal 4). Open loop: requests go
// out on a fixed schedule (request i at i / rate seconds), whether or not earlier ones were answered,
// to Herald (one topic, one webhook subscription) and to the reference service (Fastify + queue.add,
// a worker POSTing with an undici Pool), both child processes on the same private redis-server and
// the same HTTP sink. Latency = the receipt's arrival at the sink minus the start of its publish
// request, both process.hrtime (CLOCK_MONOTONIC), matched by `webhook-id`. Needs `npm run build`
// first. See bench/README.md for how to read it.
//
//   BENCH_RATES=200,1000            messages per second, each run for BENCH_DURATION_S
//   BENCH_DURATION_S=10             seconds of sending per rate (warm-up: a fifth of it at the first rate)
//   BENCH_ROUNDS=3   BENCH_CATALOGS=embedded,postgres   BENCH_REFERENCE_CONCURRENCY=50,100,200
//   BENCH_LATENCY_CONNECTIONS=256   connections the sender may open to each side
import { setTimeout as delay } from 'node:timers/promises';
import {
  alternate,
  apiClient,
  compare,
  createWebhookTopic,
  DURATION_S,
  fmt,
  hrtimeNs,
  loadAverage,
  log,
  ms,
  nsToMs,
  orderPayload,
  percentile,
  positiveInt,
  positiveInts,
  privateRedis,
  publishedId,
  publishTarget,
  runBenchmark,
  settle,
  startHttpSink,
  startSides,
  untilCount,
  untilRecorded,
  WARMUP_S,
} from './support.mjs';

const NAME = 'latency';
const RATES = positiveInts('BENCH_RATES', '200,1000');
const CONNECTIONS = positiveInt('BENCH_LATENCY_CONNECTIONS', 256);
/** The windows compared for a growing backlog: the first and the last 2 s of sending. */
const WINDOW_S = 2;
const TOPIC = 'bench-orders';

await runBenchmark(NAME, async () => {
  const redis = await privateRedis();
  const sink = await startHttpSink();
  await sink.record('id');
  const senders = new Map();

  /** Sends `rate` publishes a second for `seconds` on schedule; latencies from the sink's arrivals. */
  async function openLoop(side, rate, seconds) {
    await settle(sink);
    await sink.reset();
    if (!senders.has(side)) senders.set(side, apiClient(side.origin, {}, CONNECTIONS).pool);
    const pool = senders.get(side);
    const target = publishTarget(side, TOPIC);
    const total = Math.max(1, Math.round(rate * seconds));
    const starts = new Array(total);
    const ids = new Array(total);
    const failures = { non2xx: 0, errors: 0 };
    const answers = [];
    const send = (i) => {
      starts[i] = hrtimeNs();
      return pool
        .request({
          method: 'POST',
          path: target.path,
          headers: { 'content-type': 'application/json', ...target.headers },
          body: JSON.stringify(target.wrap(orderPayload(i))),
        })
        .then(
          async (res) => {
            const text = await res.body.text();
            if (res.statusCode >= 200 && res.statusCode < 300) ids[i] = publishedId(JSON.parse(text));
            else failures.non2xx++;
          },
          () => failures.errors++,
        );
    };
    const t0 = hrtimeNs();
    let sent = 0;
    let slip = 0;
    while (sent < total) {
      const elapsedMs = nsToMs(hrtimeNs() - t0);
      const due = Math.min(total, Math.floor((elapsedMs * rate) / 1000) + 1);
      // How far behind its schedule the sender is (the machine may not give it the CPU in time).
      if (due > sent) slip = Math.max(slip, elapsedMs - (sent * 1000) / rate);
      while (sent < due) answers.push(send(sent++));
      await delay(1);
    }
    const backlogAtStop = sent - (await sink.count());
    await Promise.all(answers);
    const accepted = ids.filter(Boolean).length;
    await untilCount(sink, accepted, `${side.label} at ${rate}/s`);
    const drainedMs = nsToMs(hrtimeNs() - t0) - (total * 1000) / rate;
    // Herald's records trail its deliveries: let them be written before the next run is measured.
    if (side.adminKey) await untilRecorded(side, ids.filter(Boolean).at(-1), 1);
    const { arrivals } = await sink.arrivals();
    const latencies = [];
    for (let i = 0; i < total; i++) {
      const at = ids[i] === undefined ? undefined : arrivals.get(String(ids[i]));
      if (at !== undefined) latencies.push([i, nsToMs(at - starts[i])]);
    }
    const sorted = (list) => list.map(([, l]) => l).sort((a, b) => a - b);
    const all = sorted(latencies);
    const window = Math.round(WINDOW_S * rate);
    return {
      rate,
      total,
      accepted,
      received: all.length,
      ...failures,
      p50: percentile(all, 50),
      p99: percentile(all, 99),
      max: all.at(-1),
      firstP50: percentile(sorted(latencies.filter(([i]) => i < window)), 50),
      lastP50: percentile(sorted(latencies.filter(([i]) => i >= total - window)), 50),
      backlogAtStop,
      drainedMs: Math.max(0, drainedMs),
      slip,
    };
  }

  /** A growing backlog: more than a second of messages undelivered at the end, or the p50 doubling (+10 ms). */
  const grows = (r) => r.backlogAtStop > r.rate || r.lastP50 > 2 * r.firstP50 + 10;
  const describeRate = (r) =>
    `${r.rate}/s: p50 ${ms(r.p50)} ms, p99 ${ms(r.p99)} ms, max ${ms(r.max)} ms` +
    `${r.received < r.total ? `, ${r.total - r.received} of ${r.total} not received` : ''}` +
    `${r.non2xx + r.errors ? `, ${r.non2xx} non-2xx, ${r.errors} errors` : ''}; ` +
    `p50 first ${WINDOW_S} s ${ms(r.firstP50)} ms, last ${WINDOW_S} s ${ms(r.lastP50)} ms, ` +
    `undelivered at stop ${fmt(r.backlogAtStop)}, drained ${fmt(r.drainedMs)} ms later, sender slip ≤ ${ms(r.slip)} ms`;

  /** A run: every rate in turn. */
  async function measure(side, round) {
    if (round === 'warm-up') return { [RATES[0]]: await openLoop(side, RATES[0], WARMUP_S) };
    const run = {};
    for (const rate of round === 'tune' ? [Math.max(...RATES)] : RATES)
      run[rate] = await openLoop(side, rate, DURATION_S);
    return run;
  }
  const describe = (run) =>
    Object.values(run)
      .map((r) => `${r.rate}/s p50 ${ms(r.p50)} p99 ${ms(r.p99)} ms`)
      .join(', ');
  log(`${NAME}: rates ${RATES.join(', ')}/s, ${DURATION_S} s each, one subscriber, open loop`);
  // Tuned at the highest rate, where the concurrency can matter: the lowest p99 is kept.
  const { reference, heralds } = await startSides({
    redisUrl: redis.url,
    sink,
    measure,
    describe,
    score: (run) => -run[Math.max(...RATES)].p99,
    setUp: (herald) => createWebhookTopic(herald, TOPIC, [sink.url('/herald')]),
  });

  await alternate(reference, heralds, measure, describe);
  for (const side of [reference, ...heralds])
    for (const rate of RATES)
      log(
        `  ${side.label} ${describeRate(side.runs.reduce((a, b) => (b[rate].p99 < a[rate].p99 ? b : a))[rate])}`,
      );

  for (const h of heralds) {
    const parts = RATES.map((rate) => {
      const refRuns = reference.runs.map((run) => run[rate]);
      const runs = h.runs.map((run) => run[rate]);
      // Each side's run with the lowest p99 (best of the rounds), and the median of the round ratios.
      const pick = (list) => list.reduce((a, b) => (b.p99 < a.p99 ? b : a));
      const [x, y] = [pick(refRuns), pick(runs)];
      const p50 = compare(refRuns, runs, (r) => r.p50, { lowerIsBetter: true });
      const p99 = compare(refRuns, runs, (r) => r.p99, { lowerIsBetter: true });
      const lost = runs.reduce((s, r) => s + r.total - r.received, 0);
      return (
        `${rate}/s herald p50 ${ms(y.p50)} ms p99 ${ms(y.p99)} ms (max ${ms(y.max)}) vs reference p50 ${ms(x.p50)} ms ` +
        `p99 ${ms(x.p99)} ms: ratio p50 ${(y.p50 / x.p50).toFixed(1)}×, p99 ${(y.p99 / x.p99).toFixed(1)}× ` +
        `(round ratios median ${p50.roundRatio.toFixed(1)}×, ${p99.roundRatio.toFixed(1)}×); backlog ` +
        `${grows(y) ? 'GROWS' : 'flat'} (undelivered at stop ${fmt(y.backlogAtStop)}, p50 first/last ${WINDOW_S} s ` +
        `${ms(y.firstP50)}/${ms(y.lastP50)} ms; reference ${grows(x) ? 'GROWS' : 'flat'}, ${fmt(x.backlogAtStop)})` +
        `${lost ? `, ${lost} herald receipts missing` : ''}`
      );
    });
    console.log(
      `${NAME}: ${parts.join('; ')} (${h.kind}, ${DURATION_S} s per rate, best p99 of ${h.runs.length}, ` +
        `reference concurrency ${reference.concurrency}; load ${loadAverage()})`,
    );
  }
});
