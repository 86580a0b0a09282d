// The reference ("minimal service") the benchmarks measure Herald against, run as a child process by
// startReference() (bench/support.mjs): what a competent developer writes by hand with the same
// libraries, on the same machine, with BullMQ and undici at their defaults.
//
// - A bare Fastify app: `POST /publish` adds one BullMQ job per request (`queue.add`) with the parsed
//   body and answers 202 with the job id; `POST /publish-batch` ({ messages: [...] }) adds them with
//   one `addBulk` and answers 202 with the ids.
// - Unless REFERENCE_WORKER=0 (publish-only mode), a BullMQ Worker in the same process POSTs each
//   job's body to the sink through one undici Pool, with the header `webhook-id` = the job id, and
//   throws on a non-2xx answer (so BullMQ retries it).
// - Over IPC, for the benchmarks: `fanout` (the minimal fan-out loop: addBulk of n jobs in chunks of
//   1,000, one per sink path), `counts` (jobs waiting, active, delayed), `clean` (drop completed jobs),
//   `obliterate` (drop every job).
//
//   REFERENCE_REDIS_URL, REFERENCE_SINK_ORIGIN (http://127.0.0.1:port), REFERENCE_SINK_PATH (/reference),
//   REFERENCE_CONCURRENCY (worker concurrency), REFERENCE_WORKER (1, or 0 for publish-only),
//   REFERENCE_QUEUE (queue name)
import { Queue, Worker } from 'bullmq';
import Fastify from 'fastify';
import { Pool } from 'undici';

const env = (name) => {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`${name} is not set`);
  return v;
};
const connection = { url: env('REFERENCE_REDIS_URL'), maxRetriesPerRequest: null };
const queueName = env('REFERENCE_QUEUE');
const withWorker = process.env.REFERENCE_WORKER !== '0';
const ADD_CHUNK = 1000;

const queue = new Queue(queueName, { connection });

let worker = null;
let pool = null;
if (withWorker) {
  const sinkPath = env('REFERENCE_SINK_PATH');
  pool = new Pool(env('REFERENCE_SINK_ORIGIN'));
  worker = new Worker(
    queueName,
    async (job) => {
      // A published message goes to the one receiver; a fan-out job names its receiver's path.
      const fanout = job.name === 'fanout';
      const { statusCode, body } = await pool.request({
        method: 'POST',
        path: fanout ? job.data.path : sinkPath,
        headers: { 'content-type': 'application/json', 'webhook-id': job.id },
        body: JSON.stringify(fanout ? job.data.payload : job.data),
      });
      await body.dump();
      if (statusCode < 200 || statusCode >= 300) throw new Error(`receiver answered ${statusCode}`);
    },
    { connection, concurrency: Number(env('REFERENCE_CONCURRENCY')) },
  );
  worker.on('error', (err) => process.stderr.write(`reference worker: ${err.message}\n`));
  await worker.waitUntilReady();
}

const app = Fastify({ logger: false });
app.post('/publish', async (req, reply) => {
  const job = await queue.add('publish', req.body);
  return reply.code(202).send({ id: job.id });
});
app.post('/publish-batch', async (req, reply) => {
  const jobs = await queue.addBulk(req.body.messages.map((data) => ({ name: 'publish', data })));
  return reply.code(202).send({ ids: jobs.map((j) => j.id) });
});
const address = await app.listen({ port: 0, host: '127.0.0.1' });

/** addBulk of n fan-out jobs in chunks of 1,000: job i POSTs `payload` to `${pathPrefix}${i}`. */
async function fanout({ n, pathPrefix, payload }) {
  for (let i = 0; i < n; i += ADD_CHUNK) {
    const jobs = [];
    for (let j = i; j < Math.min(n, i + ADD_CHUNK); j++)
      jobs.push({ name: 'fanout', data: { path: `${pathPrefix}${j}`, payload } });
    await queue.addBulk(jobs);
  }
}

const commands = {
  fanout,
  counts: () => queue.getJobCounts('wait', 'active', 'delayed', 'failed'),
  clean: () => queue.clean(0, 0, 'completed'),
  obliterate: () => queue.obliterate({ force: true }),
};

process.on('message', async (msg) => {
  try {
    const command = commands[msg.type];
    if (!command) throw new Error(`unknown command ${msg.type}`);
    process.send({ seq: msg.seq, result: (await command(msg)) ?? null });
  } catch (err) {
    process.send({ seq: msg.seq, error: err.message });
  }
});

let closing = false;
async function close() {
  if (closing) return;
  closing = true;
  await app.close();
  await worker?.close();
  await queue.close();
  await pool?.close();
  process.exit(0);
}
process.on('SIGTERM', close);
process.on('SIGINT', close);
process.on('disconnect', close);

process.send({ type: 'ready', port: new URL(address).port });
