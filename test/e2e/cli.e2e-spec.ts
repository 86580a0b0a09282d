import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { packClient, type PackedClient } from '../support/client-package';
import { ADMIN_KEY, startHerald, type TestHerald } from '../support/herald';
import { deadLettersOf } from '../support/herald-api';
import { HeraldProcess } from '../support/herald-process';
import { freePort } from '../support/servers';
import { WebhookReceiver } from '../support/webhook-receiver';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The `herald` command as npm would install it (the package `npm pack` makes), run as a child process
 * against a real Herald: every command, its tables and `--json`, the listener, and the exit codes.
 */
describe('the herald CLI', () => {
  let herald: TestHerald;
  let packed: PackedClient;
  let work: string;

  beforeAll(async () => {
    [herald, packed] = await Promise.all([startHerald('sqlite'), packClient()]);
    work = mkdtempSync(join(tmpdir(), 'herald-cli-'));
  }, 300_000);
  afterEach(async () => HeraldProcess.killAll());
  afterAll(async () => {
    await herald?.close();
    packed?.remove();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const env = (extra: Record<string, string> = {}) => ({
    HERALD_URL: herald.url,
    HERALD_API_KEY: ADMIN_KEY,
    ...extra,
  });
  const start = (args: string[], extra?: Record<string, string>) =>
    new HeraldProcess('', env(extra), { command: [process.execPath, packed.bin, ...args], cwd: work });

  async function cli(args: string[], extra?: Record<string, string>): Promise<Run> {
    const p = start(args, extra);
    const { code } = await p.exited;
    return { code, stdout: p.stdout, stderr: p.stderr };
  }
  async function ok(args: string[], extra?: Record<string, string>): Promise<string> {
    const run = await cli(args, extra);
    // stderr only on failure: stdout may hold a secret or key the command printed.
    expect({ code: run.code, stderr: run.stderr }, args.join(' ')).toMatchObject({ code: 0 });
    return run.stdout;
  }
  const json = async (args: string[]) => JSON.parse(await ok([...args, '--json']));

  it('packs: npm pack makes a package with the built client, its types, the bin and the document', () => {
    expect(packed.files).toEqual(
      expect.arrayContaining([
        'README.md',
        'bin/herald.mjs',
        'dist/cli/index.js',
        'dist/index.d.ts',
        'dist/index.js',
        'dist/generated/openapi.d.ts',
        'openapi.json',
        'package.json',
      ]),
    );
    expect(
      packed.files.filter(
        (f) =>
          f.startsWith('src/') ||
          f.endsWith('.map') ||
          f.includes('.spec.') ||
          (f.endsWith('.ts') && !f.endsWith('.d.ts')),
      ),
    ).toEqual([]);
    const installed = createRequire(__filename)(packed.dir) as Record<string, unknown>;
    expect(typeof installed.createHeraldClient).toBe('function');
    expect(typeof installed.verifyWebhook).toBe('function');
  });

  it('prints its usage: --help exits 0, no command exits 2', async () => {
    expect(await ok(['--help'])).toContain('herald topics ls');
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('herald publish <topic>');
  });

  it('topics ls, create and rm; a missing topic exits 1 with the problem detail', async () => {
    expect(await ok(['topics', 'create', 'cli-topics', '--display-name', 'CLI topics'])).toBe(
      'topic cli-topics created\n',
    );
    const listed = await ok(['topics', 'ls']);
    expect(listed).toMatch(/^NAME\s+DISPLAYNAME\s+CREATEDAT\n/);
    expect(listed).toMatch(/\ncli-topics\s+CLI topics\s+\d{4}-/);
    expect((await json(['topics', 'ls'])).map((t: { name: string }) => t.name)).toContain('cli-topics');
    expect(await ok(['topics', 'rm', 'cli-topics'])).toBe('topic cli-topics removed\n');
    const again = await cli(['topics', 'rm', 'cli-topics']);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('herald: Topic "cli-topics" does not exist. (404)\n');
    const invalid = await cli(['topics', 'create', 'bad name!']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/\(400\)\n {2}name: must match/);
  });

  it('listen --subscribe verifies and confirms; publish, messages show --wait and subs ls/rm', async () => {
    await ok(['topics', 'create', 'cli-orders']);
    const port = await freePort();
    const listener = start(['listen', '--subscribe', 'cli-orders', '--port', String(port)]);
    await listener.waitForOutput(/✔ confirmed sub_\w+/, 'the listener to confirm its subscription');
    expect(listener.stdout).toMatch(/▶ SubscriptionConfirmation msg_\w+ topic=cli-orders .*\(✔ verified\)/);
    expect(listener.stdout).toMatch(
      /confirmUrl: http:\/\/127\.0\.0\.1:\d+\/v1\/subscriptions\/confirm\?token=…\n/,
    );
    const [sub] = await json(['subs', 'ls', 'cli-orders']);
    expect(sub).toMatchObject({
      endpoint: `http://127.0.0.1:${port}/`,
      status: 'active',
      protocol: 'webhook',
    });
    expect(await ok(['subs', 'ls', 'cli-orders'])).toMatch(
      new RegExp(`${sub.id}\\s+webhook\\s+http://127.0.0.1:${port}/\\s+active`),
    );

    const id = (
      await ok([
        'publish',
        'cli-orders',
        '--subject',
        'Order placed',
        '--body',
        '{"orderId":1234}',
        '--attr',
        'store=berlin',
        '--attr',
        'total=99.5',
      ])
    ).trim();
    expect(id).toMatch(/^msg_\w+$/);
    await listener.waitForOutput(
      new RegExp(`▶ Notification ${id} topic=cli-orders subscription=${sub.id} attempt=1 \\(✔ verified\\)`),
    );
    await listener.waitForOutput(/"store": "berlin",\n\s+"total": 99.5/);
    await listener.waitForOutput(/"orderId": 1234/);

    const trace = await ok(['messages', 'show', id, '--wait']);
    expect(trace).toMatch(/status\s+delivered/);
    expect(trace).toMatch(new RegExp(`dlv_\\w+\\s+${sub.id}\\s+webhook\\s+delivered\\s+1\\s+200`));
    expect(trace).toMatch(/NUMBER\s+RUN\s+AT\s+OUTCOME[\s\S]*\n1\s+1\s+\S+\s+delivered\s+200/);
    const shown = await json(['messages', 'show', id]);
    expect(shown).toMatchObject({
      id,
      status: 'delivered',
      subject: 'Order placed',
      deliveries: [{ subscriptionId: sub.id }],
    });
    expect(shown.deliveries[0].attempts[0]).toMatchObject({ outcome: 'delivered', statusCode: 200 });

    // --body @file, a string body, and an idempotency key answered twice with one message.
    writeFileSync(join(work, 'body.json'), '"from a file"');
    const fromFile = (
      await ok(['publish', 'cli-orders', '--body', '@body.json', '--idempotency-key', 'k-1'])
    ).trim();
    const twice = await cli(['publish', 'cli-orders', '--body', '@body.json', '--idempotency-key', 'k-1']);
    expect(twice).toMatchObject({ code: 0, stdout: `${fromFile}\n` });
    expect(twice.stderr).toContain('an earlier message with this idempotency key');
    await listener.waitForOutput(new RegExp(`▶ Notification ${fromFile} [\\s\\S]*"body": "from a file"`));

    listener.kill('SIGINT');
    expect((await listener.exited).code).toBe(0);
    expect(await ok(['subs', 'rm', sub.id])).toBe(`subscription ${sub.id} removed\n`);
    expect(await json(['subs', 'ls', 'cli-orders'])).toEqual([]);
  });

  it('listen with a wrong --secret refuses a request; without one it prints unverified and still confirms', async () => {
    await ok(['topics', 'create', 'cli-secrets']);
    const [strictPort, plainPort] = [await freePort(), await freePort()];
    const strict = start([
      'listen',
      '--port',
      String(strictPort),
      '--secret',
      `whsec_${Buffer.alloc(24, 7).toString('base64')}`,
    ]);
    const plain = start(['listen', '--port', String(plainPort)]);
    await Promise.all([strict.waitForOutput(/listening on/), plain.waitForOutput(/listening on/)]);

    const created = await json(['subs', 'create', 'cli-secrets', `http://127.0.0.1:${strictPort}/`]);
    expect(created).toMatchObject({ status: 'pending', secret: expect.stringMatching(/^whsec_/) });
    await strict.waitForOutput(/✗ rejected POST \/: the webhook signature does not verify/);
    const human = await ok(['subs', 'create', 'cli-secrets', `http://127.0.0.1:${plainPort}/`]);
    expect(human).toMatch(/status\s+pending\nsecret\s+whsec_\S+ {2}\(shown once/);
    await plain.waitForOutput(/✔ confirmed sub_/);
    expect(plain.stdout).toContain('(! not verified)');
    expect(plain.stderr).toContain('no --secret');
    const statuses = (await json(['subs', 'ls', 'cli-secrets'])).map(
      (s: { endpoint: string; status: string }) => [s.endpoint, s.status],
    );
    expect(statuses.sort()).toEqual(
      [
        [`http://127.0.0.1:${strictPort}/`, 'pending'],
        [`http://127.0.0.1:${plainPort}/`, 'active'],
      ].sort(),
    );
  });

  it('dlq ls, show and redrive (by id and by topic)', async () => {
    const receiver = await new WebhookReceiver().start();
    try {
      await herald.client.topics.create({ name: 'cli-dead' });
      const sub = await herald.client.subscriptions.create('cli-dead', {
        protocol: 'webhook',
        endpoint: receiver.url,
        skipConfirmation: true,
      });
      receiver.answerByDefault(400);
      for (const n of [1, 2, 3]) await ok(['publish', 'cli-dead', '--body', String(n)]);
      const dead = await deadLettersOf(herald, sub.id, 3);
      receiver.answerByDefault(200);

      const table = await ok(['dlq', 'ls', '--topic', 'cli-dead']);
      expect(table).toMatch(/^ID\s+TOPIC\s+SUBSCRIPTIONID\s+REASON\s+LASTSTATUSCODE\s+DEADAT\n/);
      expect(table.trim().split('\n')).toHaveLength(4);
      expect(
        (await json(['dlq', 'ls', '--subscription', sub.id])).map((d: { id: string }) => d.id).sort(),
      ).toEqual(dead.map((d) => d.id).sort());
      const shown = await ok(['dlq', 'show', dead[0].id]);
      expect(shown).toMatch(new RegExp(`id\\s+${dead[0].id}\\n`));
      expect(shown).toMatch(/\n1\s+1\s+\S+\s+failed\s+400/);
      expect((await json(['dlq', 'show', dead[0].id])).attempts).toHaveLength(1);

      expect(await ok(['dlq', 'redrive', dead[0].id])).toBe('1 dead letter redriven\n');
      expect(await json(['dlq', 'redrive', '--topic', 'cli-dead'])).toEqual({ redriven: 2 });
      expect(await json(['dlq', 'ls', '--topic', 'cli-dead'])).toEqual([]);
      await receiver.waitFor(6);
      const noFilter = await cli(['dlq', 'redrive']);
      expect(noFilter.code).toBe(2);
      expect(noFilter.stderr).toContain('give dead letter ids, or --topic');
      expect((await cli(['dlq', 'show', 'dlq_nope'])).code).toBe(1);
    } finally {
      await receiver.stop();
    }
  });

  it('keys ls, create and rm', async () => {
    const created = await json([
      'keys',
      'create',
      'cli-ci',
      '--scope',
      'publish',
      '--scope',
      'read',
      '--topic',
      'cli-orders',
    ]);
    expect(created).toMatchObject({
      name: 'cli-ci',
      scopes: ['publish', 'read'],
      topics: ['cli-orders'],
      key: expect.stringMatching(/^hk_/),
    });
    expect(await ok(['keys', 'ls'])).toMatch(
      new RegExp(`${created.id}\\s+cli-ci\\s+publish,read\\s+cli-orders`),
    );
    // The new key works as HERALD_API_KEY, within its limits.
    expect((await cli(['topics', 'create', 'cli-not-mine'], { HERALD_API_KEY: created.key })).code).toBe(1);
    expect(await ok(['keys', 'rm', created.id])).toBe(`API key ${created.id} removed\n`);
    expect((await json(['keys', 'ls'])).map((k: { id: string }) => k.id)).not.toContain(created.id);
    const noScope = await cli(['keys', 'create', 'x']);
    expect(noScope.code).toBe(2);
    expect(noScope.stderr).toContain('give at least one --scope');
  });

  it('finds the admin key file on this machine; says what is wrong otherwise', async () => {
    const data = join(work, 'data');
    writeFileSync(join(work, 'admin-api-key'), `${ADMIN_KEY}\n`);
    const fromFile = await cli(['topics', 'ls', '--json'], { HERALD_API_KEY: '', HERALD_DATA_DIR: work });
    expect(fromFile.code).toBe(0);
    expect(JSON.parse(fromFile.stdout)).toEqual(expect.any(Array));

    const noKey = await cli(['topics', 'ls'], { HERALD_API_KEY: '', HERALD_DATA_DIR: data });
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/\(401\)\n {2}no API key: set HERALD_API_KEY/);
    const badKey = await cli(['topics', 'ls'], { HERALD_API_KEY: 'hk_not-a-key-0123456789' });
    expect(badKey).toMatchObject({ code: 1, stderr: expect.stringContaining('(401)') });
    const closed = await freePort();
    const down = await cli(['topics', 'ls'], { HERALD_URL: `http://127.0.0.1:${closed}` });
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(
      `herald: cannot reach Herald at http://127.0.0.1:${closed} (ECONNREFUSED); is it running? (HERALD_URL)\n`,
    );
    const badJson = await cli(['publish', 'cli-orders', '--body', '{nope']);
    expect(badJson).toMatchObject({ code: 2, stderr: expect.stringContaining('--body is not JSON') });
    const unknown = await cli(['topics', 'frobnicate']);
    expect(unknown).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown command: topics frobnicate'),
    });
    const badOption = await cli(['topics', 'ls', '--nope']);
    expect(badOption.code).toBe(2);
  });
});
