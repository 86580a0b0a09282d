// The benchmarks' webhook receiver, run as a child process by startHttpSink() (bench/support.mjs):
// answers every request 200 once its body has arrived and counts it. Commands come over IPC.
//
// When recording (the `record` command), it also keeps the arrival time of each request, from
// process.hrtime.bigint() (CLOCK_MONOTONIC on Linux, so comparable with the same clock in another
// process), taken when the body has arrived, keyed by the `webhook-id` header (by: 'id') or by the
// request path (by: 'path'); the first arrival of a key counts, later ones count as duplicates.
import { createServer } from 'node:http';

let count = 0;
/** Waiters for a count: [target, seq]. */
let waiters = [];
/** Waiters for quiet: [quietMs, seq]. */
let quietWaiters = [];
/** null, or what arrivals are keyed by: 'id' (the webhook-id header) or 'path'. */
let recordBy = null;
let arrivals = new Map();
let duplicates = 0;
/** hrtime of the last request to end (0n: none since the last reset). */
let last = 0n;
/** hrtime of the last request to start or end, for `quiet`. */
let lastActivity = process.hrtime.bigint();

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const at = process.hrtime.bigint();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
    count++;
    last = at;
    lastActivity = at;
    if (recordBy !== null) {
      const key = recordBy === 'id' ? String(req.headers['webhook-id'] ?? '') : req.url;
      if (arrivals.has(key)) duplicates++;
      else arrivals.set(key, at);
    }
    if (waiters.length > 0) settle();
  });
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;

function settle() {
  const due = waiters.filter(([target]) => count >= target);
  if (due.length === 0) return;
  waiters = waiters.filter(([target]) => count < target);
  for (const [, seq] of due) process.send({ seq, count });
}

/** Answers quiet waiters once no request has ended for their quietMs. */
function checkQuiet() {
  const idleMs = Number(process.hrtime.bigint() - lastActivity) / 1e6;
  const due = quietWaiters.filter(([ms]) => idleMs >= ms);
  quietWaiters = quietWaiters.filter(([ms]) => idleMs < ms);
  for (const [, seq] of due) process.send({ seq, count });
  if (quietWaiters.length > 0) setTimeout(checkQuiet, 25);
}
server.on('request', () => (lastActivity = process.hrtime.bigint()));

const stats = () => ({ count, distinct: arrivals.size, duplicates, last: String(last) });

process.on('message', (msg) => {
  switch (msg.type) {
    case 'listen':
      server.listen(0, '127.0.0.1', () => process.send({ seq: msg.seq, port: server.address().port }));
      break;
    case 'reset':
      count = 0;
      arrivals = new Map();
      duplicates = 0;
      last = 0n;
      process.send({ seq: msg.seq, count });
      break;
    case 'record':
      if (msg.by !== null && msg.by !== 'id' && msg.by !== 'path') {
        process.send({ seq: msg.seq, error: `record by ${msg.by}? (id, path or null)` });
        break;
      }
      recordBy = msg.by;
      arrivals = new Map();
      duplicates = 0;
      process.send({ seq: msg.seq, count });
      break;
    case 'count':
      process.send({ seq: msg.seq, count });
      break;
    case 'stats':
      process.send({ seq: msg.seq, ...stats() });
      break;
    case 'arrivals':
      // [key, hrtime ns as a decimal string] (IPC is JSON: no BigInt).
      process.send({
        seq: msg.seq,
        ...stats(),
        arrivals: Array.from(arrivals, ([key, at]) => [key, String(at)]),
      });
      break;
    case 'expect':
      waiters.push([msg.n, msg.seq]);
      settle();
      break;
    case 'quiet':
      quietWaiters.push([msg.ms, msg.seq]);
      if (quietWaiters.length === 1) checkQuiet();
      break;
    default:
      process.send({ seq: msg.seq, error: `unknown command ${msg.type}` });
  }
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
