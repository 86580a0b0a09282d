// Publish only (issue 7, goal 3): autocannon POSTs a 1 KiB JSON body to Herald's publish route with
// HERALD_ROLES=api (the publish path alone: no workers, so nothing is fanned out or delivered) and to
// the reference in publish-only mode (a bare Fastify route that does `queue.add`, no worker), both
// child processes on the same private redis-server. Ratio of accepted requests per second, with each
// side's p50/p99 and errors. Needs `npm run build` first. See bench/README.md for how to read it.
//
//   BENCH_CONNECTIONS=50   BENCH_DURATION_S=10   BENCH_ROUNDS=3   BENCH_CATALOGS=embedded,postgres
//   BENCH_HERALD_ROLES=api          api,worker: Herald in one-process mode instead, its subscription to
//                                   the HTTP sink (its workers deliver while it is measured)
import {
  alternate,
  autocannonLoad,
  compare,
  CONNECTIONS,
  costMeter,
  createWebhookTopic,
  DURATION_S,
  fmt,
  loadAverage,
  log,
  median,
  privateRedis,
  publishTarget,
  range,
  runBenchmark,
  settle,
  startHttpSink,
  startSides,
  WARMUP_S,
} from './support.mjs';

const NAME = 'publish-only';
const BODY_BYTES = 1024;
const TOPIC = 'bench-orders';
const ROLES = process.env.BENCH_HERALD_ROLES ?? 'api';

/** A publish request body of exactly 1 KiB for `target` (an order event padded with a note). */
function kibBody(target) {
  const message = { order: { id: 'ord_4711', total: 99.5, currency: 'EUR' }, note: '' };
  const size = () => Buffer.byteLength(JSON.stringify(target.wrap(message)));
  message.note = 'x'.repeat(BODY_BYTES - size());
  if (size() !== BODY_BYTES) throw new Error(`the body is ${size()} bytes, not ${BODY_BYTES}`);
  return JSON.stringify(target.wrap(message));
}

await runBenchmark(NAME, async () => {
  const redis = await privateRedis();
  const sink = ROLES.includes('worker') ? await startHttpSink() : null;

  async function measure(side, round) {
    // In one-process mode, Herald's workers may still be delivering the last run's messages.
    if (sink) await settle(sink);
    const target = publishTarget(side, TOPIC);
    const meter = await costMeter(redis.redis, side.pid);
    const load = await autocannonLoad({
      origin: side.origin,
      target,
      body: kibBody(target),
      connections: CONNECTIONS,
      durationS: round === 'warm-up' ? WARMUP_S : DURATION_S,
    });
    const cost = await meter.stop(Math.max(1, load.accepted));
    // The reference's jobs would only pile up in Redis (no worker): drop them between runs.
    if (!side.adminKey) await side.ask({ type: 'obliterate' });
    return { ...load, ...cost, perSecond: load.accepted / load.seconds };
  }
  const describe = (r) =>
    `${fmt(r.perSecond)} req/s (p50 ${r.p50} ms, p99 ${r.p99} ms, non-2xx ${r.non2xx}, errors ${r.errors})`;
  log(`${NAME}: c=${CONNECTIONS}, ${DURATION_S} s per run, ${BODY_BYTES}-byte bodies, warm-up ${WARMUP_S} s`);
  const { reference, heralds } = await startSides({
    redisUrl: redis.url,
    measure,
    describe,
    reference: { worker: false },
    roles: ROLES,
    // The subscription is there so that a publish has somewhere to go; with the API alone, no worker
    // fans it out.
    setUp: (herald) =>
      createWebhookTopic(herald, TOPIC, [sink?.url('/herald') ?? 'http://127.0.0.1:9/unused']),
  });

  await alternate(reference, heralds, measure, describe);

  const latency = (side) => {
    const m = (f) => median(side.runs.map(f));
    const errors = side.runs.reduce((s, r) => s + r.non2xx + r.errors + r.timeouts, 0);
    return (
      `p50 ${m((r) => r.p50)} ms, p99 ${m((r) => r.p99)} ms (worst ${Math.max(...side.runs.map((r) => r.p99))} ms), ` +
      `non-2xx/errors ${errors}, per publish ${m((r) => r.cpuMs).toFixed(3)} ms CPU, ` +
      `${m((r) => r.commands).toFixed(1)} Redis commands`
    );
  };
  for (const side of [reference, ...heralds])
    log(`  ${side.label}: Redis commands per publish (last run): ${side.runs.at(-1).topCommands}`);
  for (const h of heralds) {
    const c = compare(reference.runs, h.runs, (r) => r.perSecond);
    console.log(
      `${NAME}: reference ${fmt(c.reference)} req/s, herald ${fmt(c.herald)} req/s, ratio ${c.ratio.toFixed(2)} ` +
        `(${h.kind}, HERALD_ROLES=${ROLES}, c=${CONNECTIONS}, ${DURATION_S} s, ${BODY_BYTES}-byte body, best of ${h.runs.length}; ` +
        `round ratios median ${c.roundRatio.toFixed(2)}; herald ${range(h.runs.map((r) => r.perSecond))} req/s, ${latency(h)}; ` +
        `reference ${range(reference.runs.map((r) => r.perSecond))} req/s, ${latency(reference)}; load ${loadAverage()})`,
    );
  }
});
