// One publish to 100,000 webhook subscriptions (issue 7, goal 5): Herald (a child process) gets a topic
// with S subscriptions, all to the HTTP sink on distinct paths (set-up, not timed), and one message is
// published; timed until the sink has counted S receipts. The reference is the minimal loop: addBulk
// of S jobs in chunks of 1,000 and a BullMQ Worker POSTing each with an undici Pool (in the reference
// service's process), timed from the first addBulk. Every run checks that each path got exactly one
// request, and samples each side's RSS every 100 ms. Needs `npm run build` first. See bench/README.md.
//
//   BENCH_FANOUT_SUBSCRIPTIONS=100000   subscriptions (S), deliveries per run
//   BENCH_ROUNDS=3   BENCH_CATALOGS=embedded,postgres   BENCH_REFERENCE_CONCURRENCY=50,100,200
import {
  alternate,
  compare,
  costMeter,
  createWebhookTopic,
  fmt,
  loadAverage,
  log,
  mb,
  median,
  now,
  orderPayload,
  positiveInt,
  privateRedis,
  procMemory,
  range,
  rate,
  resetPeakRss,
  runBenchmark,
  sampleRss,
  settle,
  startHttpSink,
  startSides,
  untilCount,
  untilRecorded,
} from './support.mjs';

const NAME = 'fanout-100k';
const SUBSCRIPTIONS = positiveInt('BENCH_FANOUT_SUBSCRIPTIONS', 100_000);
const TOPIC = 'bench-fanout';
/** Far beyond a healthy run (60 s + 5 ms a delivery), so that a stuck side fails instead of hanging. */
const capMs = (n) => 60_000 + n * 5;

await runBenchmark(NAME, async () => {
  const redis = await privateRedis();
  const sink = await startHttpSink();
  await sink.record('path');

  /**
   * One fan-out of n deliveries by `side`: its rate, whether every path got exactly one request, its
   * peak RSS (sampled every 100 ms, and VmHWM reset at the start), and per-delivery costs.
   */
  async function measure(side, round) {
    const n =
      round === 'warm-up' && !side.adminKey ? Math.max(1, Math.round(SUBSCRIPTIONS / 10)) : SUBSCRIPTIONS;
    await settle(sink);
    await sink.reset();
    const hwmReset = resetPeakRss(side.pid);
    const rss = sampleRss(side.pid, 100);
    const meter = await costMeter(redis.redis, side.pid);
    const started = now();
    let messageId = null;
    if (side.adminKey) {
      const published = await side.must(
        'POST',
        `/v1/topics/${TOPIC}/messages`,
        { body: orderPayload(1) },
        202,
      );
      messageId = published.messageId;
    } else {
      await side.ask({ type: 'fanout', n, pathPrefix: '/reference/', payload: orderPayload(1) });
    }
    await untilCount(sink, n, `${side.label} ${round}`, { capMs: capMs(n) });
    const ms = now() - started;
    // Herald's records trail its deliveries: how far, and all written before the next run is measured.
    const recordLagMs = messageId ? await untilRecorded(side, messageId, n, capMs(n)) : null;
    // Anything beyond n would be a duplicate: give it the time to arrive before counting.
    await settle(sink);
    if (!side.adminKey) await side.drain();
    const cost = await meter.stop(n);
    const { peak } = rss.stop();
    const stats = await sink.stats();
    return {
      n,
      ms,
      perSecond: rate(n, ms),
      exact: stats.count === n && stats.distinct === n && stats.duplicates === 0,
      stats,
      recordLagMs,
      peakRss: peak,
      hwm: hwmReset ? procMemory(side.pid).hwm : NaN,
      ...cost,
    };
  }
  const describe = (r) =>
    `${fmt(r.perSecond)} deliveries/s (${fmt(r.stats.count)} received, ${fmt(r.stats.distinct)} distinct paths` +
    `${r.exact ? '' : ' — NOT EXACTLY ONE EACH'}, peak RSS ${mb(r.peakRss)}` +
    `${r.recordLagMs === null ? '' : `, all recorded ${fmt(r.recordLagMs)} ms after the last receipt`})`;
  log(`${NAME}: one publish to ${fmt(SUBSCRIPTIONS)} webhook subscriptions`);
  const { reference, heralds } = await startSides({
    redisUrl: redis.url,
    sink,
    measure,
    describe,
    score: (r) => r.perSecond,
    keepTuningRun: true,
    // The set-up is not timed, but said. The warm-up is a whole fan-out: the same path at any size.
    setUp: async (herald) => {
      const started = now();
      const endpoints = Array.from({ length: SUBSCRIPTIONS }, (_, i) => sink.url(`/herald/${i}`));
      await createWebhookTopic(herald, TOPIC, endpoints);
      herald.setupMs = now() - started;
      log(
        `  ${herald.label}: ${fmt(SUBSCRIPTIONS)} subscriptions created in ${fmt(herald.setupMs / 1000)} s (32 in flight)`,
      );
    },
  });

  await alternate(reference, heralds, measure, describe);

  const exactness = (side) => {
    const bad = side.runs.filter((r) => !r.exact);
    return bad.length === 0
      ? `every delivery made exactly once in each run (${fmt(SUBSCRIPTIONS)} of ${fmt(SUBSCRIPTIONS)})`
      : `NOT every delivery exactly once: ${bad.map((r) => `${r.stats.count} received, ${r.stats.distinct} distinct`).join('; ')}`;
  };
  const memory = (side) =>
    `peak RSS ${mb(Math.max(...side.runs.map((r) => r.peakRss)))} (VmHWM ${mb(Math.max(...side.runs.map((r) => r.hwm)))})`;
  const costs = (side) => {
    const m = (f) => median(side.runs.map(f));
    return `per delivery ${(m((r) => r.cpuMs) * 1000).toFixed(0)} µs CPU, ${m((r) => r.commands).toFixed(2)} Redis commands`;
  };
  for (const h of heralds) {
    const c = compare(reference.runs, h.runs, (r) => r.perSecond);
    console.log(
      `${NAME}: reference ${fmt(c.reference)} deliveries/s, herald ${fmt(c.herald)} deliveries/s, ratio ${c.ratio.toFixed(2)} ` +
        `(${h.kind}, ${fmt(SUBSCRIPTIONS)} subscriptions, best of ${h.runs.length}; round ratios median ${c.roundRatio.toFixed(2)}; ` +
        `herald ${range(h.runs.map((r) => r.perSecond))}/s, ${exactness(h)}, ${memory(h)}, ${costs(h)}, ` +
        `all recorded within ${fmt(Math.max(...h.runs.map((r) => r.recordLagMs)))} ms of the last receipt, ` +
        `set-up ${fmt(h.setupMs / 1000)} s; reference ${range(reference.runs.map((r) => r.perSecond))}/s ` +
        `(concurrency ${reference.concurrency}), ${exactness(reference).replace(/ \(.*\)$/, '')}, ${memory(reference)}, ${costs(reference)}; ` +
        `load ${loadAverage()})`,
    );
  }
});
