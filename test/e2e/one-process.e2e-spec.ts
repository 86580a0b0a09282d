import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildHerald, type HeraldBuild } from '../support/build';
import { waitUntilReady } from '../support/herald-fleet';
import { HeraldProcess } from '../support/herald-process';
import { freePort } from '../support/servers';

/**
 * `npm start` for real: the built API entry with the workers inside, the embedded catalog in the
 * data folder, no ADMIN_API_KEY and no DATABASE_URL.
 */
describe('one-process mode (npm start)', () => {
  let build: HeraldBuild;
  const dirs: string[] = [];

  beforeAll(async () => {
    build = await buildHerald();
  });
  afterEach(async () => {
    await HeraldProcess.killAll();
  });
  afterAll(async () => {
    await HeraldProcess.killAll();
    build?.remove();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  function dataDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'herald-one-process-'));
    dirs.push(dir);
    return dir;
  }

  /** `node <build>/apps/api/src/main.js` with only these settings (and PATH). */
  function start(env: Record<string, string>, cwd: string): HeraldProcess {
    return new HeraldProcess(
      build.apiMain,
      { HERALD_QUEUE_PREFIX: `{op${randomBytes(4).toString('hex')}}`, ...env },
      { cwd },
    );
  }

  it('serves with a generated admin key, refuses a second process on the same data folder, and exits 0 on SIGTERM', async () => {
    const data = dataDir();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const herald = start({ HERALD_DATA_DIR: data, PORT: String(port), REDIS_URL: inject('redisUrl') }, data);
    await waitUntilReady(herald, url);
    await herald.waitForOutput(/"msg":"herald is running"/, 'the start-up log line');

    // The generated admin key: kept in <data>/admin-api-key, and it works.
    const keyFile = join(data, 'admin-api-key');
    expect(existsSync(keyFile)).toBe(true);
    const key = readFileSync(keyFile, 'utf8').trim();
    expect(key).toMatch(/^hk_[A-Za-z0-9_-]{20,}$/);
    const topics = await fetch(`${url}/v1/topics`, { headers: { authorization: `Bearer ${key}` } });
    expect(topics.status).toBe(200);
    expect(await topics.json()).toEqual({ items: [], nextCursor: null });
    const wrong = await fetch(`${url}/v1/topics`, { headers: { authorization: `Bearer ${key}x` } });
    expect(wrong.status).toBe(401);

    // Printed once to the terminal, never in a structured log line.
    await herald.waitForOutput(new RegExp(key), 'the generated key to be printed');
    const logLines = herald.stdout.split('\n').filter((line) => line.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) {
      expect(() => JSON.parse(line)).not.toThrow();
      expect(line).not.toContain(key);
    }
    expect(herald.stdout.split(key)).toHaveLength(2);
    expect(herald.stderr).not.toContain(key);
    expect(herald.logLines.some((l) => l.msg === 'workers started')).toBe(true);
    // At start it says whether the Redis in use keeps accepted messages (the test Redis has no AOF).
    const redis = new Redis(inject('redisUrl'));
    const [, appendonly] = await redis.config('GET', 'appendonly');
    redis.disconnect();
    const aofWarnings = herald.logLines.filter((l) => l.level === 40 && /appendonly no/.test(String(l.msg)));
    expect(aofWarnings).toHaveLength(appendonly === 'yes' ? 0 : 1);

    // A second process on the same embedded catalog is refused with a message that says what to do.
    const second = start(
      { HERALD_DATA_DIR: data, PORT: String(await freePort()), REDIS_URL: inject('redisUrl') },
      data,
    );
    const refused = await second.exited;
    expect(refused.code).not.toBe(0);
    expect(refused.code).not.toBeNull();
    expect(second.output).toMatch(/embedded catalog at .* is already open in process \d+/);
    expect(second.output).toContain(`process ${herald.pid}`);
    expect(second.output).toMatch(/HERALD_ROLES=api,worker/);
    expect(second.output).toMatch(/DATABASE_URL=postgres/);
    expect(second.output).not.toContain(key);
    // The first one is unharmed.
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    // Graceful stop: exit code 0, the catalog's lock released for the next start.
    expect(existsSync(join(data, 'catalog', 'herald.lock'))).toBe(true);
    expect(await herald.stop()).toEqual({ code: 0, signal: null });
    expect(existsSync(join(data, 'catalog', 'herald.lock'))).toBe(false);
    expect(herald.output).not.toMatch(/"level":(50|60)/); // no error or fatal log line on the way
  });

  it('exits non-zero naming the Redis it could not reach, without its password', async () => {
    const data = dataDir();
    const closedPort = await freePort();
    const herald = start(
      {
        HERALD_DATA_DIR: data,
        PORT: String(await freePort()),
        REDIS_URL: `redis://:secretpw@127.0.0.1:${closedPort}`,
      },
      data,
    );
    const exit = await herald.exited;
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(herald.output).toContain(`127.0.0.1:${closedPort}`);
    expect(herald.output).toMatch(/does not answer/);
    expect(herald.output).toMatch(/REDIS_URL/);
    expect(herald.output).not.toContain('secretpw');
    // Nothing was started: no catalog and no admin key were created.
    expect(existsSync(join(data, 'catalog'))).toBe(false);
  });
});
