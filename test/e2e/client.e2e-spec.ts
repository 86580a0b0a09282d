import { HeraldApiError, verifyWebhook, WebhookVerificationFailed, type HeraldWebhook } from '@herald/client';
import type { ConfirmationEnvelope, NotificationEnvelope } from '@herald/core';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../support/client-package';
import { eventually, startHerald, type TestHerald } from '../support/herald';
import { deadLettersOf, deliveryOf, settledCounts } from '../support/herald-api';
import { WebhookReceiver } from '../support/webhook-receiver';

const ROOT = resolve(__dirname, '..', '..');
const CLIENT = join(ROOT, 'packages', 'client');

// The client's webhook types are Herald's own envelopes: this stops compiling when they part.
const asClientType = (e: NotificationEnvelope | ConfirmationEnvelope): HeraldWebhook => e;
const asCoreType = (e: HeraldWebhook): NotificationEnvelope | ConfirmationEnvelope => e;

async function rejection(promise: Promise<unknown>): Promise<HeraldApiError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HeraldApiError);
  return err as HeraldApiError;
}

/** @herald/client against a real Herald: every area of the API, and verifyWebhook on real deliveries. */
describe('@herald/client', () => {
  let herald: TestHerald;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    herald = await startHerald('sqlite');
    receiver = await new WebhookReceiver().start();
  });
  afterAll(async () => {
    await receiver?.stop();
    await herald?.close();
  });

  it('manages topics, and throws the problem of an error answer', async () => {
    const { topics } = herald.client;
    expect(await topics.create({ name: 'client-topics', displayName: 'Orders' })).toMatchObject({
      name: 'client-topics',
      displayName: 'Orders',
    });
    expect((await topics.update('client-topics', { description: 'all orders' })).description).toBe(
      'all orders',
    );
    expect((await topics.get('client-topics')).subscriptionCounts).toEqual({
      pending: 0,
      active: 0,
      paused: 0,
      disabled: 0,
      unsubscribed: 0,
    });
    expect((await topics.list({ limit: 1000 })).items.map((t) => t.name)).toContain('client-topics');
    await topics.remove('client-topics');
    const err = await rejection(topics.get('client-topics'));
    expect(err.status).toBe(404);
    expect(err.message).toBe(err.problem?.detail);
    expect(err.message).toContain('client-topics');
    const invalid = await rejection(topics.create({ name: 'bad name!' }));
    expect(invalid.status).toBe(400);
    expect(invalid.fieldErrors).toEqual([expect.stringMatching(/^name: /)]);
  });

  it('subscribes, verifies the confirmation and notifications with verifyWebhook, and traces the message', async () => {
    const c = herald.client;
    await c.topics.create({ name: 'client-orders' });
    const sub = await c.subscriptions.create('client-orders', {
      protocol: 'webhook',
      endpoint: receiver.url,
    });
    expect(sub).toMatchObject({ status: 'pending', secret: expect.stringMatching(/^whsec_/) });
    const secret = sub.secret!;

    const confirmation = await receiver.next();
    const event = verifyWebhook(secret, confirmation.headers, confirmation.body);
    expect(event).toMatchObject({
      type: 'SubscriptionConfirmation',
      subscriptionId: sub.id,
      topic: 'client-orders',
    });
    if (event.type !== 'SubscriptionConfirmation') throw new Error('expected a confirmation');
    expect((await c.confirmSubscription(event.token)).status).toBe('active');
    expect((await c.subscriptions.get(sub.id)).status).toBe('active');
    expect((await c.subscriptions.list('client-orders')).items.map((s) => s.id)).toEqual([sub.id]);

    const { messageId, duplicate } = await c.messages.publish(
      'client-orders',
      { subject: 'Order placed', body: { orderId: 1234 }, attributes: { store: 'berlin', total: 99.5 } },
      { idempotencyKey: 'client-order-1234' },
    );
    expect(duplicate).toBe(false);
    const again = await c.messages.publish('client-orders', {
      subject: 'Order placed',
      body: { orderId: 1234 },
      attributes: { store: 'berlin', total: 99.5 },
      idempotencyKey: 'client-order-1234',
    });
    expect(again).toEqual({ messageId, duplicate: true });

    const delivered = await receiver.next();
    const notification = verifyWebhook(secret, new Headers(delivered.headers), Buffer.from(delivered.body));
    expect(notification).toEqual({
      type: 'Notification',
      messageId,
      topic: 'client-orders',
      subject: 'Order placed',
      body: { orderId: 1234 },
      attributes: { store: 'berlin', total: 99.5 },
      publishedAt: expect.any(String),
      subscriptionId: sub.id,
      unsubscribeUrl: expect.stringContaining('/v1/subscriptions/unsubscribe?token='),
    });
    expect(asCoreType(asClientType(notification as NotificationEnvelope))).toBe(notification);

    // A changed body, another secret, a missing header: each a clear error, never a notification.
    const tampered = delivered.body.replace('1234', '4321');
    expect(() => verifyWebhook(secret, delivered.headers, tampered)).toThrow(WebhookVerificationFailed);
    expect(() => verifyWebhook(secret, delivered.headers, tampered)).toThrow(/signature does not verify/);
    const other = (await c.subscriptions.rotateSecret(sub.id)).secret;
    expect(() => verifyWebhook(other, delivered.headers, delivered.body)).toThrow(WebhookVerificationFailed);
    const { ['webhook-signature']: _dropped, ...unsigned } = delivered.headers;
    expect(() => verifyWebhook(secret, unsigned, delivered.body)).toThrow(
      /webhook-signature header is missing/,
    );

    expect(await settledCounts(herald, messageId)).toMatchObject({ matched: 1, delivered: 1, pending: 0 });
    expect(await c.messages.get(messageId)).toMatchObject({
      id: messageId,
      status: 'delivered',
      subject: 'Order placed',
    });
    const delivery = await deliveryOf(herald, messageId, 'delivered', sub.id);
    expect(delivery.attempts).toEqual([
      expect.objectContaining({ number: 1, outcome: 'delivered', statusCode: 200 }),
    ]);
    expect((await c.subscriptions.deliveries(sub.id)).items.map((d) => d.id)).toEqual([delivery.id]);
    expect((await c.messages.dryRun('client-orders', { body: 'x' })).matched).toEqual([sub.id]);
    expect(
      (await c.messages.publishBatch('client-orders', [{ body: 'a' }, { body: 'b' }])).results,
    ).toHaveLength(2);
    // Both batch deliveries arrive before the next test scripts the receiver's answers.
    const batch = [await receiver.next(), await receiver.next()];
    const bodies = batch
      .map((r) => verifyWebhook(other, r.headers, r.body))
      .map((e) => (e as { body: unknown }).body);
    expect(bodies.sort()).toEqual(['a', 'b']);
  });

  it('lists, shows, redrives and deletes dead letters', async () => {
    const c = herald.client;
    await c.topics.create({ name: 'client-dead' });
    const sub = await c.subscriptions.create('client-dead', {
      protocol: 'webhook',
      endpoint: receiver.urlFor('127.0.0.1', '/dead'),
      skipConfirmation: true,
    });
    receiver.reply(400, 400);
    const first = (await c.messages.publish('client-dead', { body: 'one' })).messageId;
    await deadLettersOf(herald, sub.id, 1);
    const second = (await c.messages.publish('client-dead', { body: 'two' })).messageId;
    const dead = await deadLettersOf(herald, sub.id, 2);
    const byMessage = new Map(dead.map((d) => [d.messageId as string, d.id as string]));

    const detail = await c.deadLetters.get(byMessage.get(first)!);
    expect(detail).toMatchObject({ messageId: first, subscriptionId: sub.id, lastStatusCode: 400 });
    expect(detail.attempts).toHaveLength(1);
    expect((await c.deadLetters.list({ topic: 'client-dead' })).items).toHaveLength(2);

    expect(await c.deadLetters.redrive(byMessage.get(first)!)).toEqual({ redriven: 1 });
    await eventually(
      async () => (await c.messages.get(first)).status === 'delivered',
      'the redriven message',
    );
    await c.deadLetters.remove(byMessage.get(second)!);
    expect((await c.deadLetters.list({ subscriptionId: sub.id })).items).toEqual([]);
    expect((await rejection(c.deadLetters.get(byMessage.get(second)!))).status).toBe(404);
    expect(await c.deadLetters.redriveAll({ topic: 'client-dead' })).toEqual({ redriven: 0 });
  });

  it('creates, uses, lists and removes API keys', async () => {
    const c = herald.client;
    await c.topics.create({ name: 'client-keys' });
    const created = await c.apiKeys.create({
      name: 'checkout',
      scopes: ['publish'],
      topics: ['client-keys'],
    });
    expect(created.key).toMatch(/^hk_/);
    const limited = herald.clientWith(created.key);
    expect(await limited.apiKeys.current()).toMatchObject({ id: created.id, scopes: ['publish'] });
    expect((await limited.messages.publish('client-keys', { body: 'hi' })).messageId).toMatch(/^msg_/);
    expect((await rejection(limited.topics.create({ name: 'client-elsewhere' }))).status).toBe(403);
    expect((await c.apiKeys.list()).items.map((k) => k.id)).toContain(created.id);
    await c.apiKeys.remove(created.id);
    expect((await rejection(limited.apiKeys.current())).status).toBe(401);
  });

  it('is typed from the document Herald serves: the committed document and types are what the code makes', async () => {
    const served: unknown = await (await fetch(`${herald.url}/docs/openapi.json`)).json();
    const committed = JSON.parse(readFileSync(join(CLIENT, 'openapi.json'), 'utf8')) as unknown;
    // A change to a route or DTO without `npm run build` (which writes both files) fails here.
    expect(committed).toEqual(served);
    const dir = mkdtempSync(join(tmpdir(), 'herald-client-types-'));
    try {
      writeFileSync(join(dir, 'openapi.json'), JSON.stringify(served));
      await runCommand(
        process.execPath,
        ['scripts/client-types.mjs', join(dir, 'openapi.json'), join(dir, 'openapi.ts')],
        ROOT,
      );
      expect(readFileSync(join(CLIENT, 'src', 'generated', 'openapi.ts'), 'utf8')).toBe(
        readFileSync(join(dir, 'openapi.ts'), 'utf8'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the README's TypeScript examples", () => {
  it('compile under strict (the client example against @herald/client)', { timeout: 180_000 }, async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const examples = [...readme.matchAll(/<!-- (client|ts)-example[^>]*-->\s*```ts\n([\s\S]*?)```/g)];
    expect(examples.map((m) => m[1])).toEqual(expect.arrayContaining(['client', 'ts']));
    for (const m of examples) if (m[1] === 'client') expect(m[2]).toContain("from '@herald/client'");
    const dir = join(ROOT, 'node_modules', '.cache', 'herald-readme-example', String(process.pid));
    mkdirSync(dir, { recursive: true });
    try {
      const files = examples.map((m, i) => {
        writeFileSync(join(dir, `example-${i}.ts`), m[2]);
        return `example-${i}.ts`;
      });
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          extends: join(ROOT, 'tsconfig.json'),
          compilerOptions: { noEmit: true, strict: true },
          files,
          include: [],
        }),
      );
      await runCommand(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(dir, 'tsconfig.json')], dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
