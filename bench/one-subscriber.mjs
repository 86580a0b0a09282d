// One subscriber per message, end to end (issue 7, goal 1): autocannon publishes a small order event
// under load to Herald (one topic, one webhook subscription) and to the reference service (a Fastify
// route that adds one BullMQ job, a worker in the same process that POSTs it with an undici Pool),
// both child processes against the same private redis-server and the same HTTP sink. Rate = accepted
// publishes / time from the start of the load until the sink has counted that many receipts. Needs
// `npm run build` first. See bench/README.md for how to read it.
//
//   BENCH_CONNECTIONS=50            autocannon connections
//   BENCH_DURATION_S=10             seconds of load per measured run (warm-up: a fifth of it, at least 1 s)
//   BENCH_ROUNDS=3                  rounds; each runs the reference, then each Herald variant
//   BENCH_CATALOGS=embedded,postgres   Herald variants (postgres: DATABASE_URL=postgres://… or a private server)
//   BENCH_REFERENCE_CONCURRENCY=50,100,200   reference worker concurrencies tried (the fastest is kept)
import {
  alternate,
  autocannonLoad,
  compare,
  CONNECTIONS,
  costMeter,
  createWebhookTopic,
  DURATION_S,
  fmt,
  hrtimeNs,
  loadAverage,
  log,
  median,
  ms,
  nsToMs,
  orderPayload,
  privateRedis,
  publishTarget,
  range,
  runBenchmark,
  settle,
  startHttpSink,
  startSides,
  untilCount,
  untilRecorded,
  WARMUP_S,
} from './support.mjs';

const NAME = 'one-subscriber';
/** Messages whose record lag is checked: the last ones, and as many picked at random among the others. */
const LAG_SAMPLE = 50;
const TOPIC = 'bench-orders';

/**
 * After the last receipt: how long until `GET /v1/messages/{id}` shows each sampled message delivered
 * (`counts.delivered === 1`), in ms from the last receipt to the answer that shows it (an upper bound:
 * a message recorded before the first look still counts the time that look took).
 */
async function recordLag(herald, ids, lastReceipt) {
  const others = ids.slice(0, -LAG_SAMPLE);
  const sample = new Set(ids.slice(-LAG_SAMPLE));
  while (sample.size < Math.min(ids.length, 2 * LAG_SAMPLE))
    sample.add(others[Math.floor(Math.random() * others.length)]);
  const lags = await Promise.all(
    [...sample].map(async (id) => {
      await untilRecorded(herald, id, 1);
      return Math.max(0, nsToMs(hrtimeNs() - lastReceipt));
    }),
  );
  return { max: Math.max(...lags), median: median(lags), checked: lags.length };
}

await runBenchmark(NAME, async () => {
  const redis = await privateRedis();
  const sink = await startHttpSink();
  await sink.record('id');

  /** One run of load against `side`: its rate, publish latency and errors, and per-message costs. */
  async function measure(side, round) {
    await settle(sink);
    await sink.reset();
    const target = publishTarget(side, TOPIC);
    const meter = await costMeter(redis.redis, side.pid);
    const started = hrtimeNs();
    const load = await autocannonLoad({
      origin: side.origin,
      target,
      body: JSON.stringify(target.wrap(orderPayload(1))),
      connections: CONNECTIONS,
      durationS: round === 'warm-up' ? WARMUP_S : DURATION_S,
      collectIds: true,
    });
    if (load.accepted === 0) throw new Error(`${side.label} accepted no publish: ${JSON.stringify(load)}`);
    await untilCount(sink, load.accepted, `${side.label} ${round}`);
    const { last } = await sink.stats();
    // For Herald, records may trail receipts: wait for them within the run, so their cost counts.
    const lag = side.adminKey ? await recordLag(side, load.ids, last) : null;
    if (!side.adminKey) await side.drain();
    const cost = await meter.stop(load.accepted);
    // The accepted-th receipt (autocannon may leave a few publishes it sent unanswered at the end).
    const { arrivals } = await sink.arrivals();
    const times = [...arrivals.values()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const end = times[load.accepted - 1] ?? last;
    return { ...load, lag, ...cost, perSecond: load.accepted / (nsToMs(end - started) / 1000) };
  }

  const describe = (r) =>
    `${fmt(r.perSecond)} msg/s (${fmt(r.accepted)} accepted, publish p50 ${r.p50} ms p99 ${r.p99} ms` +
    `${r.non2xx + r.errors ? `, ${r.non2xx} non-2xx, ${r.errors} errors` : ''}` +
    `${r.lag ? `, record lag max ${ms(r.lag.max)} ms` : ''})`;
  log(`${NAME}: c=${CONNECTIONS}, ${DURATION_S} s per run, warm-up ${WARMUP_S} s first on each side`);
  const { reference, heralds } = await startSides({
    redisUrl: redis.url,
    sink,
    measure,
    describe,
    score: (r) => r.perSecond,
    keepTuningRun: true,
    setUp: (herald) => createWebhookTopic(herald, TOPIC, [sink.url('/herald')]),
  });

  await alternate(reference, heralds, measure, describe);

  const costs = (side) => {
    const m = (f) => median(side.runs.map(f));
    return (
      `${side.label}: per message ${m((r) => r.cpuMs).toFixed(2)} ms CPU in its process, ` +
      `${m((r) => r.redisCpuMs).toFixed(2)} ms in redis-server, ${m((r) => r.commands).toFixed(1)} Redis commands ` +
      `(medians; last run: ${side.runs.at(-1).topCommands})`
    );
  };
  log(`  ${costs(reference)}`);
  for (const h of heralds) log(`  ${costs(h)}`);

  const refErrors = reference.runs.reduce((s, r) => s + r.non2xx + r.errors, 0);
  for (const h of heralds) {
    const c = compare(reference.runs, h.runs, (r) => r.perSecond);
    const m = (side, f) => median(side.runs.map(f));
    const lag = Math.max(...h.runs.map((r) => r.lag.max));
    const errors = h.runs.reduce((s, r) => s + r.non2xx + r.errors, 0);
    console.log(
      `${NAME}: reference ${fmt(c.reference)} msg/s, herald ${fmt(c.herald)} msg/s, ratio ${c.ratio.toFixed(2)} ` +
        `(${h.kind}, c=${CONNECTIONS}, ${DURATION_S} s, best of ${h.runs.length}; round ratios median ${c.roundRatio.toFixed(2)}; ` +
        `herald ${range(h.runs.map((r) => r.perSecond))} msg/s, publish p50 ${m(h, (r) => r.p50)} ms p99 ${m(h, (r) => r.p99)} ms, ` +
        `non-2xx/errors ${errors}, record lag max ${ms(lag)} ms, per message ${m(h, (r) => r.cpuMs).toFixed(2)} ms CPU, ` +
        `${m(h, (r) => r.redisCpuMs).toFixed(2)} ms redis CPU, ${m(h, (r) => r.commands).toFixed(1)} Redis commands; ` +
        `reference ${range(reference.runs.map((r) => r.perSecond))} msg/s (concurrency ${reference.concurrency}), ` +
        `publish p50 ${m(reference, (r) => r.p50)} ms p99 ${m(reference, (r) => r.p99)} ms, non-2xx/errors ${refErrors}, ` +
        `per message ${m(reference, (r) => r.cpuMs).toFixed(2)} ms CPU, ${m(reference, (r) => r.redisCpuMs).toFixed(2)} ms redis CPU, ` +
        `${m(reference, (r) => r.commands).toFixed(1)} Redis commands; load ${loadAverage()})`,
    );
  }
});
