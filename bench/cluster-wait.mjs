// Redis Cluster costs (issue 9): Herald in one process (HERALD_ROLES=api,worker, PostgreSQL) on a
// private Redis Cluster of 3 masters and 3 replicas, HERALD_SHARDS=6, a topic with one webhook
// subscription to the HTTP sink. For REDIS_WAIT_REPLICAS=0 and then 1 (a fresh Herald each), a
// closed-loop publish load of BENCH_DURATION_S; every message delivered before the next step. Prints
// the publish rate of each and their ratio, and, per delivery: Redis commands (INFO commandstats
// summed over the masters, Lua's own calls included), Redis memory still held (INFO memory
// used_memory, the payload kept 7 days included), catalog rows (attempts live in their delivery's
// row) and bytes (pg_database_size).
// Then the step from one to two worker processes: one API process (HERALD_ROLES=api) and 1, then 2,
// worker processes (HERALD_ROLES=worker) on the same cluster and catalog, the same closed-loop load,
// and the delivery rate (accepted publishes / time from the start of the load to the last receipt).
// Needs `npm run build` first (`npm run bench` runs it with the others).
//
//   BENCH_CONNECTIONS=16   BENCH_DURATION_S=5
import Redis from 'ioredis';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { freePort, stopChild, waitForOutput } from '../test/support/local-servers.mjs';
import {
  autocannonLoad,
  commandDelta,
  commandStats,
  createWebhookTopic,
  defer,
  fmt,
  freshCatalog,
  log,
  positiveInt,
  procCpuMs,
  redisCpuMs,
  runBenchmark,
  settle,
  startHerald,
  startHttpSink,
  heraldDist,
  now,
  terminate,
  tempDir,
  untilCount,
  within,
} from './support.mjs';

const NAME = 'cluster-wait';
const CONNECTIONS = positiveInt('BENCH_CONNECTIONS', 16);
const DURATION_S = positiveInt('BENCH_DURATION_S', 5);
const SHARDS = 6;
const TOPIC = 'bench-cluster';

/** 3 masters and 3 replicas from redis-server (the test harness's settings), ok once every node says so. */
async function startCluster() {
  const root = tempDir('herald-bench-cluster-');
  const nodes = [];
  for (let i = 0; i < 6; i++) {
    const [port, bus] = [await freePort(), await freePort()];
    const dir = join(root, String(port));
    mkdirSync(dir);
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--cluster-enabled', 'yes',
       '--cluster-port', String(bus), '--cluster-node-timeout', '2000', '--appendonly', 'yes',
       '--save', '', '--maxmemory-policy', 'noeviction'], // prettier-ignore
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    defer(() => stopChild(child));
    await waitForOutput(child, /Ready to accept connections/, `redis-server ${port}`);
    nodes.push(`127.0.0.1:${port}`);
  }
  const create = spawn(
    'redis-cli',
    ['--cluster', 'create', ...nodes, '--cluster-replicas', '1', '--cluster-yes'],
    {
      stdio: 'ignore',
    },
  );
  const code = await new Promise((resolve) => create.once('exit', resolve));
  if (code !== 0) throw new Error(`redis-cli --cluster create exited with ${code}`);
  const clients = nodes.map((n) => new Redis(`redis://${n}`));
  defer(() => clients.forEach((c) => c.disconnect()));
  await within(30_000, 'the cluster to be ok', (async () => {
    while (!(await Promise.all(clients.map((c) => c.call('CLUSTER', 'INFO')))).every((i) => /cluster_state:ok/.test(i)))
      await delay(100);
  })()); // prettier-ignore
  const masters = [];
  for (const c of clients) if (/role:master/.test(await c.info('replication'))) masters.push(c);
  return { nodes, masters };
}

/** Sums of the masters' INFO commandstats and used_memory. */
async function clusterTotals(masters) {
  const calls = {};
  let memory = 0;
  let cpuMs = 0;
  for (const m of masters) {
    cpuMs += await redisCpuMs(m);
    for (const [cmd, n] of Object.entries(await commandStats(m))) calls[cmd] = (calls[cmd] ?? 0) + n;
    memory += Number(/used_memory:(\d+)/.exec(await m.info('memory'))[1]);
  }
  return { calls, memory, cpuMs };
}

/** The mean MEMORY USAGE of up to 100 payload keys of a prefix (a message's one long-lived key). */
async function payloadBytes(masters, prefix) {
  const sizes = [];
  for (const m of masters) {
    const [, keys] = await m.scan('0', 'MATCH', `{${prefix}*:payload:*`, 'COUNT', 10_000);
    for (const key of keys.slice(0, 34)) sizes.push(Number(await m.call('MEMORY', 'USAGE', key)));
  }
  return sizes.length ? sizes.reduce((a, b) => a + b, 0) / sizes.length : 0;
}

async function catalogFigures(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const one = async (sql) => Number((await client.query(sql)).rows[0].n);
    return {
      messages: await one('SELECT count(*) AS n FROM messages'),
      deliveries: await one('SELECT count(*) AS n FROM deliveries'),
      delivered: await one("SELECT count(*) AS n FROM deliveries WHERE status = 'delivered'"),
      bytes: await one('SELECT pg_database_size(current_database()) AS n'),
    };
  } finally {
    await client.end();
  }
}

async function step(cluster, sink, wait) {
  const prefix = `bw${wait}`;
  const catalog = await freshCatalog('postgres');
  if (!catalog) throw new Error('no PostgreSQL: set DATABASE_URL=postgres://… or install postgresql');
  const herald = await startHerald({
    kind: 'postgres',
    redisUrl: '',
    env: {
      REDIS_CLUSTER_NODES: cluster.nodes.join(','),
      HERALD_SHARDS: String(SHARDS),
      HERALD_QUEUE_PREFIX: `{${prefix}}`,
      REDIS_WAIT_REPLICAS: String(wait),
      DATABASE_URL: catalog.url,
    },
  });
  await createWebhookTopic(herald, TOPIC, [sink.url('/hook')]);
  const path = `/v1/topics/${TOPIC}/messages`;
  const target = { path, headers: { authorization: `Bearer ${herald.adminKey}` } };
  const body = JSON.stringify({ body: { order: 'ord_4711', note: 'x'.repeat(900) } });
  // A short warm-up, delivered, before anything is counted.
  await autocannonLoad({ origin: herald.origin, target, body, connections: CONNECTIONS, durationS: 1 });
  await settle(sink);
  await sink.reset();
  const before = await clusterTotals(cluster.masters);
  const heraldCpu0 = procCpuMs(herald.pid);
  const catalogBefore = await catalogFigures(catalog.url);
  const run = await autocannonLoad({
    origin: herald.origin,
    target,
    body,
    connections: CONNECTIONS,
    durationS: DURATION_S,
  });
  await untilCount(sink, run.accepted, `${NAME} WAIT=${wait}`);
  await settle(sink);
  const after = await clusterTotals(cluster.masters);
  const heraldCpuMs = (procCpuMs(herald.pid) - heraldCpu0) / run.accepted;
  const redisCpu = (after.cpuMs - before.cpuMs) / run.accepted;
  // The recorder writes in batches a moment after the receipt: wait until every delivery is in.
  let catalogAfter = await catalogFigures(catalog.url);
  await within(60_000, 'the catalog to record every delivery', (async () => {
    while (catalogAfter.delivered - catalogBefore.delivered < run.accepted) {
      await delay(200);
      catalogAfter = await catalogFigures(catalog.url);
    }
  })()); // prettier-ignore
  const rows = ['messages', 'deliveries'].map(
    (t) => `${t} ${((catalogAfter[t] - catalogBefore[t]) / run.accepted).toFixed(2)}`,
  );
  const catalogBytes = (catalogAfter.bytes - catalogBefore.bytes) / run.accepted;
  const commands = commandDelta(before.calls, after.calls);
  const total = commands.reduce((s, [, n]) => s + n, 0);
  const payload = await payloadBytes(cluster.masters, prefix);
  return {
    herald,
    heraldCpuMs,
    redisCpu,
    run,
    commands,
    total,
    memory: after.memory - before.memory,
    payload,
    rows,
    catalogBytes,
    catalog,
  };
}

/** A worker-only process (HERALD_ROLES=worker) of the build, ready once it logs that it runs. */
async function startWorker(env) {
  const child = spawn(process.execPath, [join(heraldDist(), 'apps', 'worker', 'src', 'main.js')], {
    env: {
      ...process.env,
      OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8',
      METRICS_PORT: '0',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = defer(() => terminate(child));
  child.stderr.resume();
  await within(
    120_000,
    'a worker process to start',
    waitForOutput(child, /herald worker running/, 'the worker'),
  );
  child.stdout.resume();
  return { pid: child.pid, stop };
}

/** Delivery rate with one API process and `workers` worker processes on the cluster. */
async function workerStep(cluster, sink, workers) {
  const prefix = `bk${workers}`;
  const catalog = await freshCatalog('postgres');
  const env = {
    REDIS_CLUSTER_NODES: cluster.nodes.join(','),
    HERALD_SHARDS: String(SHARDS),
    HERALD_QUEUE_PREFIX: `{${prefix}}`,
    DATABASE_URL: catalog.url,
  };
  const api = await startHerald({ kind: 'postgres', redisUrl: '', roles: 'api', env });
  const started = [];
  for (let i = 0; i < workers; i++) started.push(await startWorker(env));
  await createWebhookTopic(api, TOPIC, [sink.url('/hook')]);
  const path = `/v1/topics/${TOPIC}/messages`;
  const target = { path, headers: { authorization: `Bearer ${api.adminKey}` } };
  const body = JSON.stringify({ body: { order: 'ord_4711', note: 'x'.repeat(900) } });
  await autocannonLoad({ origin: api.origin, target, body, connections: CONNECTIONS, durationS: 1 });
  await settle(sink);
  await sink.reset();
  const cpu0 = started.map((w) => procCpuMs(w.pid));
  const t0 = now();
  const run = await autocannonLoad({
    origin: api.origin,
    target,
    body,
    connections: CONNECTIONS,
    durationS: DURATION_S,
  });
  await untilCount(sink, run.accepted, `${NAME} ${workers} worker(s)`);
  const seconds = (now() - t0) / 1000;
  const workerCpuMs = started.reduce((sum, w, i) => sum + procCpuMs(w.pid) - cpu0[i], 0) / run.accepted;
  await settle(sink);
  for (const w of started.reverse()) await w.stop();
  await api.stop();
  await catalog.drop();
  return { rate: run.accepted / seconds, run, workerCpuMs };
}

await runBenchmark(NAME, async () => {
  const cluster = await startCluster();
  const sink = await startHttpSink();
  const results = [];
  for (const wait of [0, 1]) {
    const r = await step(cluster, sink, wait);
    const rate = r.run.accepted / r.run.seconds;
    const n = r.run.accepted;
    log(
      `  WAIT=${wait}: ${fmt(rate)} publishes/s (${fmt(n)} in ${r.run.seconds} s, p50 ${r.run.p50} ms, p99 ${r.run.p99} ms, ` +
        `non-2xx ${r.run.non2xx}, errors ${r.run.errors}); per delivery ${(r.total / n).toFixed(1)} Redis commands ` +
        `(${r.commands
          .slice(0, 6)
          .map(([c, k]) => `${c} ${(k / n).toFixed(1)}`)
          .join(', ')}), ` +
        `${fmt(r.memory / n)} bytes of Redis memory held (used_memory), payload key ${fmt(r.payload)} bytes (MEMORY USAGE); CPU ${r.heraldCpuMs.toFixed(2)} ms Herald, ${r.redisCpu.toFixed(3)} ms Redis masters; catalog rows ${r.rows.join(', ')}, ${fmt(r.catalogBytes)} bytes`,
    );
    results.push({ wait, rate, r });
    await r.herald.stop();
    await r.catalog.drop();
  }
  const [off, on] = results;
  console.log(
    `${NAME}: WAIT=0 ${fmt(off.rate)} publishes/s, WAIT=1 ${fmt(on.rate)} publishes/s, ratio ${(on.rate / off.rate).toFixed(2)} ` +
      `(3 masters + 3 replicas, ${SHARDS} shards, one process api,worker, postgres, c=${CONNECTIONS}, ${DURATION_S} s, ~1 KiB body; ` +
      `per delivery ${(off.r.total / off.r.run.accepted).toFixed(1)} Redis commands, payload key ${fmt(off.r.payload)} bytes, CPU ${off.r.heraldCpuMs.toFixed(2)} ms Herald, ${off.r.redisCpu.toFixed(3)} ms Redis masters)`,
  );
  const steps = [];
  for (const workers of [1, 2]) {
    const w = await workerStep(cluster, sink, workers);
    log(
      `  ${workers} worker process(es): ${fmt(w.rate)} deliveries/s (${fmt(w.run.accepted)} accepted, publish p50 ${w.run.p50} ms, ` +
        `p99 ${w.run.p99} ms, non-2xx ${w.run.non2xx}, errors ${w.run.errors}), ${w.workerCpuMs.toFixed(2)} ms CPU per delivery in the workers`,
    );
    steps.push(w);
  }
  const [one, two] = steps;
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(', ');
  console.log(
    `${NAME}: workers 1 → 2: ${fmt(one.rate)} → ${fmt(two.rate)} deliveries/s, ratio ${(two.rate / one.rate).toFixed(2)} ` +
      `(one API process, HERALD_ROLES=worker processes, ${SHARDS} shards, postgres, c=${CONNECTIONS}, ${DURATION_S} s, one subscriber per message; ` +
      `worker CPU per delivery ${one.workerCpuMs.toFixed(2)} → ${two.workerCpuMs.toFixed(2)} ms; load ${load})`,
  );
});
