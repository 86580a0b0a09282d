import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { allPages, createHeraldClient, type HeraldClient } from '../herald-client';
import { HeraldApiError } from '../herald-api-error';
import type { DeadLetterDetail, DeliveryDetail, Message } from '../types';
import { resolveCredentials } from './credentials';
import { fields, print, ProgressBar, table, type Output, type Stream } from './output';
import { WebhookListener } from './webhook-listener';

export const USAGE = `herald: Herald's command line (HERALD_URL, HERALD_API_KEY)

  herald topics ls | create <name> [--display-name S] [--description S] | rm <name>
  herald subs ls <topic> | create <topic> <endpoint> [--protocol P] [--raw] [--filter JSON] | rm <id>
  herald publish <topic> [--body JSON|@file] [--attr k=v …] [--subject S] [--idempotency-key K]
  herald messages show <id> [--wait]
  herald dlq ls [--topic T] [--subscription ID] | show <id> | redrive <id …> | redrive --topic T | --subscription ID
  herald keys ls | create <name> --scope S … [--topic T …] | rm <id>
  herald listen [--port N] [--host H] [--secret whsec_…] [--subscribe TOPIC]

  --json  print JSON instead of tables

HERALD_URL defaults to http://127.0.0.1:3000. Without HERALD_API_KEY, a Herald on this machine is
reached with the admin key npm start generated (.data/admin-api-key, or HERALD_DATA_DIR's).
`;

export interface CliContext {
  stdout: Stream;
  stderr: Stream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Resolves when the user stops `listen` (Ctrl-C). */
  interrupted?: Promise<void>;
}

/** A mistake in the command line: usage and exit code 2. */
class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

const CHECKOUT = resolve(__dirname, '..', '..', '..', '..');

type Values = Record<string, string | boolean | string[] | undefined>;

function parse(args: string[], options: Options): { values: Values; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args,
      options: { json: { type: 'boolean' }, ...options },
      allowPositionals: true,
      strict: true,
    });
    return { values: parsed.values, positionals: parsed.positionals };
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function need(positionals: string[], n: number, what: string): string[] {
  if (positionals.length < n) throw new UsageError(`missing ${what}`);
  return positionals;
}

function jsonOption(value: string, what: string, cwd: string): unknown {
  const text = value.startsWith('@') ? readFileSync(resolve(cwd, value.slice(1)), 'utf8') : value;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`${what} is not JSON${value.startsWith('@') ? ` (in ${value.slice(1)})` : ''}`);
  }
}

/** `--attr k=v`: numbers and booleans as such, `a,b` stays a string. */
function attribute(pair: string): [string, string | number | boolean] {
  const eq = pair.indexOf('=');
  if (eq <= 0) throw new UsageError(`--attr ${pair}: give name=value`);
  const raw = pair.slice(eq + 1);
  const value =
    raw === 'true' ? true : raw === 'false' ? false : /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  return [pair.slice(0, eq), value];
}

async function all<T>(pages: AsyncGenerator<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of pages) items.push(item);
  return items;
}

const SETTLED = new Set(['delivered', 'failed']);

function messageTrace(message: Message, deliveries: DeliveryDetail[]): string {
  let text = fields(message, ['id', 'topic', 'subject', 'status', 'publishedAt']);
  text += `counts   ${Object.entries(message.counts)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')}\n`;
  if (deliveries.length === 0) return `${text}\nno deliveries\n`;
  text += `\n${table(deliveries, ['id', 'subscriptionId', 'protocol', 'status', 'attemptCount', 'lastStatusCode', 'lastError'])}`;
  for (const d of deliveries) {
    if (d.attempts.length === 0) continue;
    text += `\n${d.id}\n${table(d.attempts, ['number', 'run', 'at', 'outcome', 'statusCode', 'durationMs', 'error'])}`;
  }
  return text;
}

async function trace(client: HeraldClient, id: string, wait: boolean, deadline = Date.now() + 60_000) {
  for (;;) {
    const message = await client.messages.get(id);
    const list = await all(allPages((cursor) => client.messages.deliveries(id, { cursor, limit: 1000 })));
    const settled = SETTLED.has(message.status) && list.every((d) => d.status !== 'pending');
    if (!wait || settled || Date.now() > deadline) {
      const deliveries = await Promise.all(list.map((d) => client.deliveries.get(d.id)));
      return { message, deliveries };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Commands of one word; the others are a group and a verb (`topics ls`). */
const SINGLE = new Set(['publish', 'listen']);

async function run(words: string[], ctx: CliContext): Promise<number> {
  const single = SINGLE.has(words[0]);
  const command = single ? words[0] : words.slice(0, 2).join(' ');
  const rest = words.slice(single ? 1 : 2);
  const creds = resolveCredentials(ctx.env, ctx.cwd, CHECKOUT);
  const client = createHeraldClient({ baseUrl: creds.url, apiKey: creds.apiKey });
  const out = (o: { json?: boolean }): Output => ({ stdout: ctx.stdout, stderr: ctx.stderr, json: !!o.json });

  switch (command) {
    case 'topics ls': {
      const { values } = parse(rest, {});
      const items = await all(allPages((cursor) => client.topics.list({ cursor, limit: 1000 })));
      print(out(values), items, () => table(items, ['name', 'displayName', 'createdAt']));
      return 0;
    }
    case 'topics create': {
      const { values, positionals } = parse(rest, {
        'display-name': { type: 'string' },
        description: { type: 'string' },
      });
      const [name] = need(positionals, 1, 'the topic name');
      const topic = await client.topics.create({
        name,
        ...(values['display-name'] ? { displayName: values['display-name'] as string } : {}),
        ...(values.description ? { description: values.description as string } : {}),
      });
      print(out(values), topic, () => `topic ${topic.name} created\n`);
      return 0;
    }
    case 'topics rm': {
      const { values, positionals } = parse(rest, {});
      const [name] = need(positionals, 1, 'the topic name');
      await client.topics.remove(name);
      print(out(values), { removed: name }, () => `topic ${name} removed\n`);
      return 0;
    }
    case 'subs ls': {
      const { values, positionals } = parse(rest, {});
      const [topic] = need(positionals, 1, 'the topic name');
      const items = await all(
        allPages((cursor) => client.subscriptions.list(topic, { cursor, limit: 1000 })),
      );
      print(out(values), items, () => table(items, ['id', 'protocol', 'endpoint', 'status', 'createdAt']));
      return 0;
    }
    case 'subs create': {
      const { values, positionals } = parse(rest, {
        protocol: { type: 'string', default: 'webhook' },
        raw: { type: 'boolean' },
        filter: { type: 'string' },
      });
      const [topic, endpoint] = need(positionals, 2, 'the topic and the endpoint');
      const sub = await client.subscriptions.create(topic, {
        protocol: values.protocol as 'webhook',
        endpoint,
        ...(values.raw ? { rawDelivery: true } : {}),
        ...(values.filter
          ? {
              filterPolicy: jsonOption(values.filter as string, '--filter', ctx.cwd) as Record<
                string,
                unknown
              >,
            }
          : {}),
      });
      print(out(values), sub, () => {
        let text = fields(sub, ['id', 'topic', 'protocol', 'endpoint', 'status']);
        if (sub.secret)
          text += `secret    ${sub.secret}  (shown once: the receiver verifies requests with it)\n`;
        return text;
      });
      return 0;
    }
    case 'subs rm': {
      const { values, positionals } = parse(rest, {});
      const [id] = need(positionals, 1, 'the subscription id');
      await client.subscriptions.remove(id);
      print(out(values), { removed: id }, () => `subscription ${id} removed\n`);
      return 0;
    }
    case 'publish': {
      const { values, positionals } = parse(rest, {
        body: { type: 'string' },
        attr: { type: 'string', multiple: true },
        subject: { type: 'string' },
        'idempotency-key': { type: 'string' },
      });
      const [topic] = need(positionals, 1, 'the topic name');
      const body = values.body === undefined ? {} : jsonOption(values.body as string, '--body', ctx.cwd);
      const attrs = ((values.attr as string[] | undefined) ?? []).map(attribute);
      const result = await client.messages.publish(
        topic,
        {
          body: body as string,
          ...(values.subject ? { subject: values.subject as string } : {}),
          ...(attrs.length ? { attributes: Object.fromEntries(attrs) } : {}),
        },
        { idempotencyKey: values['idempotency-key'] as string | undefined },
      );
      if (result.duplicate && !values.json)
        ctx.stderr.write('an earlier message with this idempotency key\n');
      print(out(values), result, () => `${result.messageId}\n`);
      return 0;
    }
    case 'messages show': {
      const { values, positionals } = parse(rest, { wait: { type: 'boolean' } });
      const [id] = need(positionals, 1, 'the message id');
      const { message, deliveries } = await trace(client, id, !!values.wait);
      print(out(values), { ...message, deliveries }, () => messageTrace(message, deliveries));
      return 0;
    }
    case 'dlq ls': {
      const { values } = parse(rest, { topic: { type: 'string' }, subscription: { type: 'string' } });
      const query = {
        topic: values.topic as string | undefined,
        subscriptionId: values.subscription as string | undefined,
      };
      const items = await all(
        allPages((cursor) => client.deadLetters.list({ ...query, cursor, limit: 1000 })),
      );
      print(out(values), items, () =>
        table(items, ['id', 'topic', 'subscriptionId', 'reason', 'lastStatusCode', 'deadAt']),
      );
      return 0;
    }
    case 'dlq show': {
      const { values, positionals } = parse(rest, {});
      const [id] = need(positionals, 1, 'the dead letter id');
      const d: DeadLetterDetail = await client.deadLetters.get(id);
      print(out(values), d, () => {
        const text = fields(d, [
          'id',
          'topic',
          'subscriptionId',
          'endpoint',
          'messageId',
          'deliveryId',
          'reason',
          'lastError',
          'deadAt',
        ]);
        return `${text}\n${table(d.attempts, ['number', 'run', 'at', 'outcome', 'statusCode', 'error'])}`;
      });
      return 0;
    }
    case 'dlq redrive': {
      const { values, positionals } = parse(rest, {
        topic: { type: 'string' },
        subscription: { type: 'string' },
      });
      const topic = values.topic as string | undefined;
      const subscriptionId = values.subscription as string | undefined;
      if (positionals.length === 0 && !topic && !subscriptionId) {
        throw new UsageError('give dead letter ids, or --topic and/or --subscription');
      }
      // Ids first, then one redrive each: a redriven entry leaves the list, so paging while redriving skips.
      const ids = positionals.length
        ? positionals
        : (
            await all(
              allPages((cursor) => client.deadLetters.list({ topic, subscriptionId, cursor, limit: 1000 })),
            )
          ).map((d) => d.id);
      const bar = new ProgressBar(ctx.stderr, ids.length, 'redriving');
      let redriven = 0;
      for (const id of ids) {
        redriven += (await client.deadLetters.redrive(id)).redriven;
        bar.tick();
      }
      print(
        out(values),
        { redriven },
        () => `${redriven} dead letter${redriven === 1 ? '' : 's'} redriven\n`,
      );
      return 0;
    }
    case 'keys ls': {
      const { values } = parse(rest, {});
      const items = await all(allPages((cursor) => client.apiKeys.list({ cursor, limit: 1000 })));
      print(out(values), items, () => table(items, ['id', 'name', 'scopes', 'topics', 'createdAt']));
      return 0;
    }
    case 'keys create': {
      const { values, positionals } = parse(rest, {
        scope: { type: 'string', multiple: true },
        topic: { type: 'string', multiple: true },
      });
      const [name] = need(positionals, 1, 'the key name');
      const scopes = (values.scope as string[] | undefined) ?? [];
      if (scopes.length === 0)
        throw new UsageError('give at least one --scope (admin, publish, subscribe, read)');
      const topics = values.topic as string[] | undefined;
      const key = await client.apiKeys.create({
        name,
        scopes: scopes as Array<'admin'>,
        ...(topics ? { topics } : {}),
      });
      print(
        out(values),
        key,
        () => `${fields(key, ['id', 'name', 'scopes', 'topics'])}key     ${key.key}  (shown once)\n`,
      );
      return 0;
    }
    case 'keys rm': {
      const { values, positionals } = parse(rest, {});
      const [id] = need(positionals, 1, 'the key id');
      await client.apiKeys.remove(id);
      print(out(values), { removed: id }, () => `API key ${id} removed\n`);
      return 0;
    }
    case 'listen': {
      const { values } = parse(rest, {
        port: { type: 'string', default: ctx.env.HERALD_LISTEN_PORT || '4000' },
        host: { type: 'string', default: '127.0.0.1' },
        secret: { type: 'string' },
        subscribe: { type: 'string' },
      });
      const port = Number(values.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new UsageError(`--port ${String(values.port)}: not a port`);
      const listener = new WebhookListener(
        client,
        {
          host: values.host as string,
          port,
          secret: values.secret as string | undefined,
          subscribe: values.subscribe as string | undefined,
          heraldUrl: creds.url,
        },
        out(values),
      );
      await listener.start();
      await (ctx.interrupted ?? new Promise<void>(() => {}));
      await listener.close();
      return 0;
    }
    default:
      throw new UsageError(`unknown command: ${command}`);
  }
}

/** Runs one command line; answers the exit code (0 done, 1 Herald or the network said no, 2 usage). */
export async function main(argv: string[], ctx: CliContext): Promise<number> {
  if (argv.length === 0 || argv.includes('--help') || argv[0] === 'help') {
    (argv.length === 0 ? ctx.stderr : ctx.stdout).write(USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  try {
    return await run(argv, ctx);
  } catch (err) {
    if (err instanceof UsageError) {
      ctx.stderr.write(`herald: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof HeraldApiError) {
      const lines = [`herald: ${err.message} (${err.status})`, ...err.fieldErrors.map((f) => `  ${f}`)];
      if (err.status === 401 && !resolveCredentials(ctx.env, ctx.cwd, CHECKOUT).apiKey) {
        lines.push('  no API key: set HERALD_API_KEY (or run this on the machine npm start runs on)');
      }
      ctx.stderr.write(`${lines.join('\n')}\n`);
      return 1;
    }
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (err instanceof TypeError && err.message === 'fetch failed') {
      const url = resolveCredentials(ctx.env, ctx.cwd, CHECKOUT).url;
      const why = cause?.code ?? cause?.message ?? 'no answer';
      ctx.stderr.write(`herald: cannot reach Herald at ${url} (${why}); is it running? (HERALD_URL)\n`);
      return 1;
    }
    ctx.stderr.write(`herald: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
