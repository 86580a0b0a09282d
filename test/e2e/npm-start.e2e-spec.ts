import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { copyCheckout, type CheckoutCopy } from '../support/checkout-copy';
import { eventually } from '../support/herald';
import { HeraldProcess } from '../support/herald-process';
import { freePort } from '../support/servers';

/** The processes whose parent is `pid`, from /proc: which process `npm start` left running Herald in. */
function childrenOf(pid: number): Array<{ pid: number; command: string }> {
  const out: Array<{ pid: number; command: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== pid) continue;
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      out.push({ pid: Number(entry), command });
    } catch {
      // the process ended while being read
    }
  }
  return out;
}

const alive = (pid: number) => existsSync(`/proc/${pid}`);

/**
 * `npm start` for real, in a copy of the repository (sharing its node_modules): the first start builds,
 * later ones do not, and SIGTERM or SIGINT to npm, or Ctrl-C to its whole process group, stops Herald
 * cleanly (drain, exit 0) with nothing left running.
 */
describe('npm start', () => {
  let checkout: CheckoutCopy;
  let copy: string;
  let data: string;

  beforeAll(() => {
    checkout = copyCheckout('herald-npm-start-');
    copy = checkout.dir;
    data = join(copy, '.data');
  });
  afterEach(async () => {
    await HeraldProcess.killAll();
  });
  afterAll(() => {
    checkout?.remove();
  });

  async function start(): Promise<{ npm: HeraldProcess; node: number; url: string; ms: number }> {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const began = Date.now();
    const npm = new HeraldProcess(
      '',
      {
        HOME: process.env.HOME ?? copy,
        HERALD_DATA_DIR: data,
        PORT: String(port),
        REDIS_URL: inject('redisUrl'),
        HERALD_QUEUE_PREFIX: `{ns${randomBytes(4).toString('hex')}}`,
      },
      { cwd: copy, command: ['npm', 'start'], group: true },
    );
    await npm.waitForOutput(/"msg":"herald is running"/, 'Herald to start');
    const ms = Date.now() - began;
    await eventually(async () => (await fetch(`${url}/readyz`)).status === 200, 'readyz');
    // npm runs Herald's node itself: no shell in between that a signal could stop instead.
    const children = childrenOf(npm.pid);
    expect(children).toHaveLength(1);
    expect(children[0].command).toMatch(/^\S*node\S* dist\/apps\/api\/src\/main\.js$/);
    return { npm, node: children[0].pid, url, ms };
  }

  async function expectCleanStop(npm: HeraldProcess, node: number): Promise<void> {
    expect(await npm.exited).toEqual({ code: 0, signal: null });
    await eventually(async () => !alive(node), `node ${node} to end`);
    expect(npm.output).toContain('draining workers');
    expect(npm.output).not.toMatch(/"level":(50|60)/);
    expect(existsSync(join(data, 'catalog', 'herald.lock'))).toBe(false);
  }

  it(
    'builds on the first start, and SIGTERM to npm stops Herald with exit 0',
    { timeout: 300_000 },
    async () => {
      const { npm, node } = await start();
      expect(npm.output).toContain('herald: building');
      npm.kill('SIGTERM');
      await expectCleanStop(npm, node);
    },
  );

  it(
    'does not build again when nothing changed, and SIGINT to npm stops it with exit 0',
    { timeout: 120_000 },
    async () => {
      const { npm, node, ms } = await start();
      expect(npm.output).toContain('herald: the build is up to date');
      expect(npm.output).not.toContain('tsc -p');
      console.info(`npm start without a build: ready in ${ms} ms`);
      npm.kill('SIGINT');
      await expectCleanStop(npm, node);
    },
  );

  it('stops cleanly on Ctrl-C (SIGINT to the whole process group)', { timeout: 120_000 }, async () => {
    const { npm, node } = await start();
    npm.killGroup('SIGINT');
    await expectCleanStop(npm, node);
  });

  it('builds again when a source file changed', { timeout: 300_000 }, async () => {
    const file = join(copy, 'libs', 'core', 'src', 'ids.ts');
    writeFileSync(file, `${readFileSync(file, 'utf8')}\n// changed by the npm start test\n`);
    const { npm, node } = await start();
    expect(npm.output).toContain('herald: building');
    npm.kill('SIGTERM');
    await expectCleanStop(npm, node);
  });
});
