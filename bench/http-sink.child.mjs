// The benchmarks' webhook receiver, run as a child process by startHttpSink() (bench/support.mjs):
// answers every request 200 once its body has arrived and counts it. Commands come over IPC.
import { createServer } from 'node:http';

let count = 0;
/** Waiters for a count: [target, seq]. */
let waiters = [];

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
    count++;
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

process.on('message', (msg) => {
  switch (msg.type) {
    case 'listen':
      server.listen(0, '127.0.0.1', () => process.send({ seq: msg.seq, port: server.address().port }));
      break;
    case 'reset':
      count = 0;
      process.send({ seq: msg.seq, count });
      break;
    case 'count':
      process.send({ seq: msg.seq, count });
      break;
    case 'expect':
      waiters.push([msg.n, msg.seq]);
      settle();
      break;
    default:
      process.send({ seq: msg.seq, error: `unknown command ${msg.type}` });
  }
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
