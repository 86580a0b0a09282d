import Redis from 'ioredis';
import pino from 'pino';
import { Writable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startRedis, type RunningServer } from '../../../test/support/servers';
import { redisDurabilityWarnings, warnAboutRedisDurability } from './redis-durability';

describe('redisDurabilityWarnings', () => {
  it.each<[{ appendonly?: string; maxmemoryPolicy?: string }, RegExp[]]>([
    [{ appendonly: 'yes', maxmemoryPolicy: 'noeviction' }, []],
    [{ appendonly: 'no', maxmemoryPolicy: 'noeviction' }, [/appendonly no.*at-least-once/]],
    [{ appendonly: 'yes', maxmemoryPolicy: 'allkeys-lru' }, [/maxmemory-policy allkeys-lru.*at-least-once/]],
    [{ appendonly: 'no', maxmemoryPolicy: 'volatile-ttl' }, [/appendonly no/, /volatile-ttl/]],
    [{}, []],
  ])('%j', (settings, expected) => {
    const warnings = redisDurabilityWarnings(settings);
    expect(warnings).toHaveLength(expected.length);
    expected.forEach((pattern, i) => expect(warnings[i]).toMatch(pattern));
  });
});

/** Against real, private redis-servers started with the settings under test. */
describe('warnAboutRedisDurability', () => {
  const servers: RunningServer[] = [];
  const clients: Redis[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'herald-redis-aof-'));

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function logLinesWith(args: string[]) {
    const server = await startRedis(args);
    servers.push(server);
    const redis = new Redis(server.url);
    clients.push(redis);
    const lines: Array<{ level: number; msg: string }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
        done();
      },
    });
    await warnAboutRedisDurability(redis, pino({ level: 'info' }, sink));
    return lines;
  }

  it('warns once per setting that puts accepted messages at risk', async () => {
    const lines = await logLinesWith(['--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru']);
    expect(lines.map((l) => l.level)).toEqual([40, 40]);
    expect(lines[0].msg).toMatch(/appendonly no/);
    expect(lines[1].msg).toMatch(/maxmemory-policy allkeys-lru/);
  });

  it('says nothing when Redis is set up for at-least-once', async () => {
    expect(await logLinesWith(['--appendonly', 'yes', '--dir', dir])).toEqual([]);
  });
});
