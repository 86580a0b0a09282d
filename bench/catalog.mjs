// The catalog with months of history (PostgreSQL, partitioned by day): 10 million delivery rows and
// their messages generated over 30 days of partitions, then (a) catalog write throughput, outcome
// events recorded per second through the real CatalogEventWriter in batches like the recorder's, on
// that catalog and on an empty one (ratio big/empty); (b) the latency of the admin lists through the
// repositories; (c) dropping one day's partitions. Needs `npm run build` first; see bench/README.md.
//
//   BENCH_CATALOG_ROWS=10000000   delivery rows generated (with their messages) before measuring
//   BENCH_CATALOG_BATCHES=20      measured writer batches per mix, catalog and round
//   BENCH_CATALOG_ROUNDS=3        rounds of write measurements (the best of each counts)
//   BENCH_CATALOG_REQUESTS=200    requests per admin list
//   DATABASE_URL=postgres://…     a server to use (fresh databases in it), else a private one
//   HERALD_DIST=dir               the build to measure (default dist/; the smoke test builds its own)
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { cleanUp, cleanUpIfInterrupted, freshCatalog, log, now } from './support.mjs';

const require = createRequire(import.meta.url);
const build = process.env.HERALD_DIST ?? fileURLToPath(new URL('../dist', import.meta.url));
const {
  Catalog,
  CatalogEventWriter,
  DAY_MS,
  dayStart,
  DeadLettersRepository,
  DeliveriesRepository,
  MessagesRepository,
} = require(join(build, 'libs/catalog/src/index.js'));
const { deliveryIdFor, newId, ulidTime } = require(join(build, 'libs/core/src/index.js'));

const ROWS = positiveInt('BENCH_CATALOG_ROWS', 10_000_000);
const BATCHES = positiveInt('BENCH_CATALOG_BATCHES', 20);
const ROUNDS = positiveInt('BENCH_CATALOG_ROUNDS', 3);
const REQUESTS = positiveInt('BENCH_CATALOG_REQUESTS', 200);
const DAYS = 30;
/** Message i goes to 1 + i % 9 subscriptions: 5 deliveries a message on average. */
const FANOUT = 9;
const MESSAGES = Math.max(DAYS, Math.round(ROWS / 5));
const SUBSCRIPTIONS = Math.max(FANOUT + 1, Math.min(1000, Math.round(ROWS / 1000)));
const TOPICS = 10;
/** Subscriptions were made a year before the history starts; their ids say so. */
const SUBSCRIBED_AT = Date.UTC(2020, 0, 1);
const WARMUP_BATCHES = 3;

function positiveInt(name, fallback) {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a positive integer`);
  return v;
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const ms = (n) => (n < 10 ? n.toFixed(2) : n.toFixed(1));

/** The id of generated subscription n (the same formula as the SQL below). */
function subscriptionId(n) {
  return `sub_${ulidTime(SUBSCRIBED_AT)}000000${ulidTime(n)}`;
}

// ---------------------------------------------------------------------------------------------
// The history: generated in the server, one day at a time (no rows cross the wire).

/** `[first, end)` message numbers of day d, and the UTC midnight it starts at. */
function dayOf(d, start) {
  return {
    first: Math.floor((d * MESSAGES) / DAYS),
    end: Math.floor(((d + 1) * MESSAGES) / DAYS),
    at: start + d * DAY_MS,
  };
}

/** Each delivery's attempts by outcome class; `@at` becomes its message's time. */
const ATTEMPTS = {
  delivered: [{ attempt: 1, outcome: 'delivered', statusCode: 200, error: null }],
  retrying: [
    { attempt: 1, outcome: 'retry', statusCode: 503, error: 'receiver answered 503' },
    { attempt: 2, outcome: 'retry', statusCode: 503, error: 'receiver answered 503' },
  ],
  dead: [1, 2, 3].map((attempt) => ({
    attempt,
    outcome: attempt === 3 ? 'failed' : 'retry',
    statusCode: 503,
    error: 'receiver answered 503',
  })),
  pending: [],
};
const templates = Object.entries(ATTEMPTS).map(([status, list]) => [
  status,
  list.length,
  JSON.stringify(list.map((a) => ({ run: 1, ...a, at: '@at', durationMs: 12 }))),
]);

/** Generates the history into the catalog at `url` through one connection (its temporary tables). */
async function generate(url, start) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // Each statement is planned once per day; compiling it (JIT) would cost more than it saves.
    await client.query(`SET jit = off`);
    await client.query(`
      CREATE TEMP TABLE bench_subs AS
        SELECT n, herald_ulid_time(${SUBSCRIBED_AT}) || '000000' || herald_ulid_time(n) AS ulid
        FROM generate_series(0, ${SUBSCRIPTIONS - 1}) AS n;
      CREATE TEMP TABLE bench_attempts (status text, n int, attempts text);
      CREATE TEMP TABLE bench_day (i bigint, ulid text, at timestamptz, iso text);`);
    await client.query(
      `INSERT INTO bench_attempts SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(status text, n int, attempts text)`,
      [JSON.stringify(templates.map(([status, n, attempts]) => ({ status, n, attempts })))],
    );
    await client.query('ANALYZE bench_subs; ANALYZE bench_attempts');
    // 94 % delivered at once, 3 % still retrying, 2 % dead (and dead-lettered), 1 % pending.
    const stride = Math.floor(SUBSCRIPTIONS / FANOUT);
    let rows = 0;
    for (let d = 0; d < DAYS; d++) {
      const day = dayOf(d, start);
      const began = now();
      // The day's messages, their ids and times computed once.
      await client.query('TRUNCATE bench_day');
      await client.query(
        `INSERT INTO bench_day
         SELECT i, herald_ulid_time(t) || '000000' || herald_ulid_time(i), to_timestamp(t / 1000.0),
                to_char(to_timestamp(t / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
         FROM (SELECT i, $3::bigint + (i - $1::bigint) * ${DAY_MS} / ($2::bigint - $1::bigint) AS t
               FROM generate_series($1::bigint, $2::bigint - 1) AS i) s`,
        [day.first, day.end, day.at],
      );
      await client.query('ANALYZE bench_day');
      await client.query(
        `INSERT INTO messages (id, topic, subject, body, attributes, published_at, matched, fanned_out_at)
         SELECT 'msg_' || ulid, 'bench-' || i % ${TOPICS}, 'Order ' || i, jsonb_build_object('orderId', i),
                jsonb_build_object('store', 'berlin'), at, 1 + i % ${FANOUT}, at
         FROM bench_day`,
      );
      const inserted = await client.query(
        `INSERT INTO deliveries (id, message_id, subscription_id, topic, protocol, status, attempt_count, run,
           last_attempt, last_error, last_status_code, created_at, updated_at, attempts)
         SELECT 'dlv_' || m.ulid || s.ulid, 'msg_' || m.ulid, 'sub_' || s.ulid, 'bench-' || m.i % ${TOPICS},
                'webhook', a.status, a.n, 1, a.n, CASE WHEN a.n > 1 THEN 'receiver answered 503' END,
                CASE WHEN a.n > 1 THEN 503 WHEN a.n = 1 THEN 200 END, m.at, m.at,
                replace(a.attempts, '@at', m.iso)::jsonb
         FROM bench_day m
         CROSS JOIN LATERAL generate_series(0, m.i % ${FANOUT}) AS j
         JOIN bench_subs s ON s.n = (m.i * 7 + j * ${stride}) % ${SUBSCRIPTIONS}
         JOIN bench_attempts a ON a.status = CASE
           WHEN (m.i * 31 + j * 17) % 100 < 94 THEN 'delivered'
           WHEN (m.i * 31 + j * 17) % 100 < 97 THEN 'retrying'
           WHEN (m.i * 31 + j * 17) % 100 < 99 THEN 'dead' ELSE 'pending' END`,
      );
      rows += inserted.rowCount;
      await client.query(
        `INSERT INTO dead_letters (id, delivery_id, run, message_id, subscription_id, topic, protocol, endpoint,
           attempts, reason, last_error, last_status_code, dead_at)
         SELECT 'dlq_' || substr(id, 5, 10) || upper(substr(md5(id), 1, 16)), id, 1, message_id, subscription_id,
                topic, protocol, 'https://example.com/hooks/' || subscription_id, 3, 'retries exhausted',
                last_error, last_status_code, updated_at
         FROM deliveries WHERE id >= $1 AND id < $2 AND status = 'dead'`,
        [`dlv_${ulidTime(day.at)}`, `dlv_${ulidTime(day.at + DAY_MS)}`],
      );
      log(
        `  day ${d + 1}/${DAYS}: ${fmt(day.end - day.first)} messages, ${fmt(inserted.rowCount)} deliveries ` +
          `in ${fmt(now() - began)} ms`,
      );
    }
    await client.query('ANALYZE messages; ANALYZE deliveries; ANALYZE dead_letters');
    return rows;
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------
// (a) Writes: events as the recorder hands them to the writer.

function messageEvent(id, topic, subscription) {
  return {
    type: 'message',
    message: {
      id,
      topic,
      subject: null,
      body: { orderId: 1 },
      attributes: {},
      bodyByProtocol: {},
      publishedAt: new Date().toISOString(),
    },
    matched: 1,
    filteredOut: 0,
    deliveries: [{ subscriptionId: subscription, protocol: 'webhook' }],
  };
}

function attemptEvent(messageId, subscription, attempt, outcome) {
  return {
    type: 'attempt',
    deliveryId: deliveryIdFor(messageId, subscription),
    messageId,
    subscriptionId: subscription,
    topic: 'bench-w',
    protocol: 'webhook',
    run: 1,
    attempt,
    at: new Date().toISOString(),
    durationMs: 2,
    outcome,
    statusCode: outcome === 'delivered' ? 200 : 503,
    error: outcome === 'delivered' ? null : 'receiver answered 503',
    providerMessageId: null,
  };
}

/** 500 one-subscriber messages, each with its first attempt, delivered: 1,000 events. */
function firstAttempts() {
  const sub = newId('sub');
  return () => {
    const messages = [];
    const attempts = [];
    for (let i = 0; i < 500; i++) {
      const id = newId('msg');
      messages.push(messageEvent(id, 'bench-w', sub));
      attempts.push(attemptEvent(id, sub, 1, 'delivered'));
    }
    return [...messages, ...attempts];
  };
}

/**
 * 250 new messages whose first attempt asks for a retry, and the second attempts of the previous
 * batch's 250 (2 in 5 delivered, 1 in 5 failed and dead-lettered, the rest retried): about 800 events
 * that update existing rows as well as insert new ones.
 */
function retryMix() {
  const sub = newId('sub');
  let previous = [];
  return () => {
    const events = [];
    const fresh = [];
    for (let i = 0; i < 250; i++) {
      const id = newId('msg');
      fresh.push(id);
      events.push(messageEvent(id, 'bench-w', sub), attemptEvent(id, sub, 1, 'retry'));
    }
    previous.forEach((id, i) => {
      const outcome = i % 5 === 0 ? 'failed' : i % 5 < 3 ? 'delivered' : 'retry';
      events.push(attemptEvent(id, sub, 2, outcome));
      if (outcome === 'failed') {
        events.push({
          type: 'dead',
          id: newId('dlq'),
          deliveryId: deliveryIdFor(id, sub),
          run: 1,
          messageId: id,
          subscriptionId: sub,
          topic: 'bench-w',
          protocol: 'webhook',
          endpoint: 'https://example.com/hooks/w',
          attempts: 2,
          reason: 'retries exhausted',
          lastError: 'receiver answered 503',
          lastStatusCode: 503,
          deadAt: new Date().toISOString(),
        });
      }
    });
    previous = fresh;
    return events;
  };
}

const MIXES = { 'first attempts': firstAttempts, 'retry mix': retryMix };

/** Events recorded per second over BATCHES batches (after a warm-up), and ms per batch. */
async function measureWrites(catalog, mix) {
  const next = MIXES[mix]();
  for (let w = 0; w < WARMUP_BATCHES; w++) await catalog.applyEvents(next());
  const batches = Array.from({ length: BATCHES }, next);
  const events = batches.reduce((n, b) => n + b.length, 0);
  const began = now();
  for (const batch of batches) await catalog.applyEvents(batch);
  const elapsed = now() - began;
  return { perSecond: (events * 1000) / elapsed, msPerBatch: elapsed / BATCHES };
}

// ---------------------------------------------------------------------------------------------
// (b) Admin lists: latency over REQUESTS requests each, and what EXPLAIN says of their plans.

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function latency(request) {
  await request(0);
  const times = [];
  for (let i = 0; i < REQUESTS; i++) {
    const began = now();
    await request(i);
    times.push(now() - began);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

/** A SqlClient that remembers every statement, to EXPLAIN what the repositories really run. */
function recording(sql) {
  const statements = [];
  const spy = {
    dialect: sql.dialect,
    query: (text, params = []) => {
      statements.push({ text, params });
      return sql.query(text, params);
    },
    exec: (text) => sql.exec(text),
    transaction: (fn) => fn(spy),
  };
  return { spy, statements };
}

/** The nodes of an EXPLAIN (ANALYZE, FORMAT JSON) plan, flattened. */
function nodesOf(plan) {
  return [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];
}

async function explain(sql, what, run) {
  const { spy, statements } = recording(sql);
  await run(spy);
  for (const { text, params } of statements) {
    const { rows } = await sql.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, params);
    const [top] = rows[0]['QUERY PLAN'];
    const nodes = nodesOf(top.Plan);
    const scans = nodes.filter((n) => n['Relation Name']);
    const ran = scans.filter((n) => n['Actual Loops'] > 0);
    // Partitions named alike (deliveries_p20250101_…) count as one kind of scan.
    const kinds = new Map();
    for (const n of ran) {
      const index = n['Index Name']?.replace(/_p\d{8}_/, '_p…_');
      const kind = `${n['Node Type']}${index ? ` on ${index}` : ''}`;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    const kindList = [...kinds].map(([kind, count]) => `${count}× ${kind}`).join('; ');
    const seq = ran.filter((n) => n['Node Type'] === 'Seq Scan').length;
    const append = nodes.find((n) => n['Node Type'] === 'Append' || n['Node Type'] === 'Merge Append');
    log(
      `  explain ${what}: ${ran.length} of ${scans.length} relations read (${kindList})` +
        `${append ? `, ${append['Node Type']}` : ''}${seq ? `, ${seq} SEQ SCANS` : ''}, ` +
        `planned in ${ms(top['Planning Time'])} ms, ran in ${ms(top['Execution Time'])} ms`,
    );
  }
}

// ---------------------------------------------------------------------------------------------

cleanUpIfInterrupted('catalog');
const cleanups = [];
try {
  const bigDb = await freshCatalog('postgres');
  if (bigDb === null) {
    log('catalog: no PostgreSQL installed (and no DATABASE_URL=postgres://…): skipped');
    console.log('catalog: skipped (no PostgreSQL)');
  } else {
    const bigUrl = bigDb.url;
    const big = await Catalog.open(bigUrl, { poolSize: 4 });
    cleanups.push(() => big.close());
    const empty = await Catalog.open((await freshCatalog('postgres')).url, { poolSize: 4 });
    cleanups.push(() => empty.close());

    const today = dayStart(Date.now());
    const start = today - DAYS * DAY_MS;
    await big
      .historyKeeper({ retentionDays: DAYS, deadLetterRetentionDays: 90 })
      .ensurePartitions(start, today);
    log(`generating ${fmt(MESSAGES)} messages to ${fmt(SUBSCRIPTIONS)} subscriptions over ${DAYS} days…`);
    const began = now();
    const rows = await generate(bigUrl, start);
    const generated = now() - began;
    const sizes = await big.sql.query(
      `SELECT (SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'deliveries'::regclass) AS deliveries,
              (SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'messages'::regclass) AS messages,
              (SELECT count(*) FROM dead_letters) AS dead_letters`,
    );
    const size = sizes.rows[0];
    log(
      `generated ${fmt(rows)} deliveries in ${fmt(generated / 1000)} s (${fmt((rows * 1000) / generated)} rows/s); ` +
        `deliveries ${fmt(size.deliveries / 2 ** 20)} MiB with indexes (${fmt(size.deliveries / rows)} bytes a row), ` +
        `messages ${fmt(size.messages / 2 ** 20)} MiB, ${fmt(size.dead_letters)} dead letters`,
    );

    // (b) before the writes, on the generated history alone.
    const pick = (i, n) => (i * 7919) % n;
    const message = (i) => {
      const day = dayOf(pick(i, DAYS), start);
      const n = day.first + pick(i, day.end - day.first);
      return `msg_${ulidTime(day.at + Math.floor(((n - day.first) * DAY_MS) / (day.end - day.first)))}000000${ulidTime(n)}`;
    };
    const sub = (i) => subscriptionId(pick(i, SUBSCRIPTIONS));
    const middle = `dlv_${ulidTime(start + (DAYS / 2) * DAY_MS)}`;
    const lists = {
      'subscription deliveries': (r) => (i) => r.deliveries.listBySubscription(sub(i), {}, { limit: 100 }),
      'subscription deliveries, dead only': (r) => (i) =>
        r.deliveries.listBySubscription(sub(i), { status: 'dead' }, { limit: 100 }),
      'subscription deliveries, page from mid-history': (r) => (i) =>
        r.deliveries.listBySubscription(sub(i), {}, { limit: 100, cursor: middle }),
      'dead letters': (r) => (i) => r.deadLetters.list({ subscriptionId: sub(i) }, { limit: 100 }),
      'dead letters of a topic': (r) => (i) =>
        r.deadLetters.list({ topic: `bench-${i % TOPICS}` }, { limit: 100 }),
      'message deliveries': (r) => (i) => r.deliveries.listByMessage(message(i)),
      'message with counts': (r) => (i) => r.messages.get(message(i)),
    };
    const latencies = {};
    for (const [what, request] of Object.entries(lists)) {
      latencies[what] = await latency(request(big));
      log(`  ${what}: p50 ${ms(latencies[what].p50)} ms, p99 ${ms(latencies[what].p99)} ms over ${REQUESTS}`);
      await explain(big.sql, what, (spy) =>
        request({
          deliveries: new DeliveriesRepository(spy),
          deadLetters: new DeadLettersRepository(spy),
          messages: new MessagesRepository(spy),
        })(1),
      );
    }

    // (a) the writer, on the big catalog and on an empty one, alternating.
    const writes = {};
    for (let round = 1; round <= ROUNDS; round++) {
      for (const mix of Object.keys(MIXES)) {
        // Each round swaps which catalog goes first, so neither always meets a fresher machine.
        const order = [
          ['empty', empty],
          ['big', big],
        ];
        for (const [name, catalog] of round % 2 ? order : order.reverse()) {
          const r = await measureWrites(catalog, mix);
          const key = `${mix} ${name}`;
          if (!writes[key] || writes[key].perSecond < r.perSecond) writes[key] = r;
          log(
            `  round ${round}, ${mix}, ${name} catalog: ${fmt(r.perSecond)} events/s (${ms(r.msPerBatch)} ms a batch)`,
          );
        }
      }
    }
    // A batch that updates rows too: the previous batch's deliveries get their second attempts.
    const mixed = retryMix();
    await big.applyEvents(mixed());
    await explain(big.sql, 'writer, retry mix', (spy) => new CatalogEventWriter(spy).applyEvents(mixed()));

    // (c) retention: the oldest day passes a retention one day shorter.
    const dropBegan = now();
    const report = await big.historyKeeper({ retentionDays: DAYS - 1, deadLetterRetentionDays: 90 }).run();
    const dropped = now() - dropBegan;
    const kept = await big.sql.query(
      `SELECT (SELECT count(*) FROM deliveries_before) AS deliveries, (SELECT count(*) FROM messages_before) AS messages`,
    );
    log(
      `retention: a run dropped ${report.dropped.join(', ')} in ${fmt(dropped)} ms; kept for their dead letters ` +
        `${fmt(kept.rows[0].deliveries)} deliveries and ${fmt(kept.rows[0].messages)} messages`,
    );

    const ratio = (mix) => (writes[`${mix} big`].perSecond / writes[`${mix} empty`].perSecond).toFixed(2);
    const wrote = Object.keys(MIXES)
      .map(
        (mix) =>
          `${fmt(writes[`${mix} big`].perSecond)} events/s ${mix} (empty ${fmt(writes[`${mix} empty`].perSecond)}, ratio ${ratio(mix)})`,
      )
      .join(', ');
    const listed = ['subscription deliveries', 'dead letters', 'message deliveries']
      .map((what) => `${what} ${ms(latencies[what].p50)}/${ms(latencies[what].p99)}`)
      .join(', ');
    console.log(
      `catalog: ${fmt(rows)} deliveries over ${DAYS} daily partitions; writes ${wrote}; ` +
        `admin lists p50/p99 ms: ${listed}; drop one day ${fmt(dropped)} ms`,
    );
  }
} finally {
  // Catalogs close before their databases are dropped (and a private server stopped) by cleanUp.
  for (const cleanup of cleanups.reverse()) await cleanup();
  await cleanUp();
}
