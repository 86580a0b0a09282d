import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { copyCheckout, type CheckoutCopy } from '../support/checkout-copy';
import { HeraldProcess } from '../support/herald-process';
import { freePort } from '../support/servers';

const ROOT = resolve(__dirname, '..', '..');

/** The shell block after each `<!-- quick-start: terminal N -->` marker of README.md, by terminal. */
function quickStartBlocks(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('<!-- quick-start: terminal 1 -->'),
    readme.indexOf('<!-- /quick-start -->'),
  );
  const blocks = [...section.matchAll(/<!-- quick-start: terminal (\d) -->\s*```sh\n([\s\S]*?)```/g)];
  expect(blocks.map((b) => Number(b[1]))).toEqual([1, 2, 3]);
  return blocks.map((b) => b[2].trim());
}

/**
 * The README's quick start, its commands as written, in a copy of the checkout: terminal 1 starts
 * Herald (the first start builds it, the CLI included), terminal 2 a listener subscribed to a topic,
 * terminal 3 publishes and shows the trace. Only the environment differs: free ports instead of 3000 and
 * 4000, the test's Redis, and no `npm ci` (the copy shares the repository's installed node_modules).
 */
describe('the quick start', () => {
  let checkout: CheckoutCopy;

  beforeAll(() => {
    checkout = copyCheckout('herald-quick-start-');
  });
  afterEach(async () => HeraldProcess.killAll());
  afterAll(() => checkout?.remove());

  it(
    'completes on one machine: the listener prints the verified delivery, the trace says delivered',
    { timeout: 420_000 },
    async () => {
      const [first, second, third] = quickStartBlocks();
      expect(first).toMatch(/^npm ci && /);
      expect(first.split('\n')).toHaveLength(1);
      const [port, listenPort] = [await freePort(), await freePort()];
      const url = `http://127.0.0.1:${port}`;
      const shell = (script: string, env: Record<string, string>) =>
        new HeraldProcess(
          '',
          { HOME: process.env.HOME ?? checkout.dir, ...env },
          {
            cwd: checkout.dir,
            command: ['bash', '-e', '-c', script],
            group: true,
          },
        );

      const terminal1 = shell(first.replace(/^npm ci && /, ''), {
        PORT: String(port),
        REDIS_URL: inject('redisUrl'),
        HERALD_QUEUE_PREFIX: `{qs${randomBytes(4).toString('hex')}}`,
      });
      await terminal1.waitForOutput(/"msg":"herald is running"/, 'Herald to start');

      const cliEnv = { HERALD_URL: url, HERALD_LISTEN_PORT: String(listenPort) };
      const terminal2 = shell(second, cliEnv);
      await terminal2.waitForOutput(/✔ confirmed sub_\w+/, 'the listener to confirm its subscription');
      expect(terminal2.output).toContain('topic orders created');
      expect(terminal2.output).toContain(`listening on http://127.0.0.1:${listenPort}/`);

      const terminal3 = shell(third, cliEnv);
      const exit = await terminal3.exited;
      expect(exit, terminal3.stderr).toEqual({ code: 0, signal: null });
      const messageId = /^id\s+(msg_\w+)$/m.exec(terminal3.stdout)?.[1];
      expect(messageId).toBeDefined();
      expect(terminal3.stdout).toMatch(/^status\s+delivered$/m);
      expect(terminal3.stdout).toMatch(/counts\s+matched=1 filteredOut=0 delivered=1 pending=0/);
      expect(terminal3.stdout).toMatch(/\n1\s+1\s+\S+\s+delivered\s+200\s/);

      await terminal2.waitForOutput(
        new RegExp(`▶ Notification ${messageId} topic=orders .*\\(✔ verified\\)`),
      );
      await terminal2.waitForOutput(/"orderId": 1234/);
      expect(terminal2.output).toContain('"store": "berlin"');

      // Ctrl-C in each terminal: Herald drains and exits 0; the listener stops (npx and bash then end
      // by the signal, as they do in a terminal) without an error.
      terminal2.killGroup('SIGINT');
      terminal1.killGroup('SIGINT');
      const listener = await terminal2.exited;
      expect(listener.code === 0 || listener.signal === 'SIGINT', JSON.stringify(listener)).toBe(true);
      expect(terminal2.stderr).not.toMatch(/^herald: /m);
      expect(await terminal1.exited).toEqual({ code: 0, signal: null });
    },
  );
});
