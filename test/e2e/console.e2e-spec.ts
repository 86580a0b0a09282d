import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole, launchChromium } from '../support/browser';
import { ADMIN_KEY, startHerald, type TestHerald } from '../support/herald';
import { deadLettersOf, deliveryOf, publish as publishMessage } from '../support/herald-api';
import { WebhookReceiver } from '../support/webhook-receiver';

/**
 * Where the screenshots go: a private folder, so a test run leaves the checkout as it was; with
 * UPDATE_SCREENSHOTS=1, docs/console, whose committed pictures the README shows.
 */
const SHOTS =
  process.env.CONSOLE_SCREENSHOT_DIR ??
  (process.env.UPDATE_SCREENSHOTS
    ? resolve(__dirname, '..', '..', 'docs', 'console')
    : join(tmpdir(), `herald-console-shots-${process.pid}`));
/** Generous for a loaded 2-core machine; every wait ends as soon as the page shows what it waits for. */
const WAIT_MS = 20_000;

/**
 * The operator's task in a real browser (Debian's chromium through playwright-core) against a running
 * Herald serving its built console: sign in, create a topic and a webhook subscription, publish, see
 * it delivered; the receiver fails, the dead letter appears; the receiver recovers, Redrive, delivered.
 * Every control is found by its accessible name, as a screen reader would.
 */
describe('the operators’ console in a browser', () => {
  let herald: TestHerald;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let removeBuild: () => void = () => undefined;
  const secrets: string[] = [];
  const receiver = new WebhookReceiver({ secrets });
  /** Every URL the browser asked for, to show that nothing left Herald's origin. */
  const requested: string[] = [];
  // Browser-side expressions are strings: this file compiles without the DOM's types.

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const [build] = await Promise.all([buildConsole(), receiver.start()]);
    removeBuild = build.remove;
    herald = await startHerald('sqlite', {}, { consoleDir: build.dir });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.on('request', (r) => requested.push(r.url()));
    page = await context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await herald?.close();
    await receiver.stop();
    removeBuild();
  });

  // Secrets shown once (signing secrets, new keys) are masked: test output never shows one.
  const shot = (name: string) =>
    page.screenshot({
      path: join(SHOTS, `${name}.png`),
      fullPage: true,
      mask: [page.locator('.shown-once input')],
      maskColor: '#c9d1de',
    });
  const form = (name: string) => page.getByRole('form', { name });
  const visible = (locator: Locator) =>
    locator.waitFor({ state: 'visible', timeout: WAIT_MS }).catch(async (err: unknown) => {
      await page.screenshot({ path: '/tmp/console-failure.png', fullPage: true });
      throw err;
    });
  /** The trace's delivery (there is one per message here) shows this status. */
  const deliveryShows = (status: string) =>
    visible(
      page
        .getByRole('listitem', { name: /^Delivery to sub_/ })
        .getByRole('heading')
        .getByText(status, { exact: true }),
    );

  async function publishFromTopicPage(body: string): Promise<string> {
    const publish = form('Publish test message');
    await publish.getByLabel('Body').fill(body);
    await publish.getByRole('button', { name: 'Publish' }).click();
    const link = publish.getByRole('link', { name: /^msg_/ });
    await visible(link);
    const messageId = (await link.textContent())!;
    await link.click();
    await visible(page.getByRole('heading', { name: `Trace of ${messageId}` }));
    return messageId;
  }

  it('walks the operator’s task from sign-in to a redriven delivery', async () => {
    await page.goto(`${herald.url}/console`);
    expect(page.url()).toBe(`${herald.url}/console/`);

    // Sign in, by keyboard: a wrong key says so, the right one opens the console.
    const key = page.getByRole('textbox', { name: 'API key' });
    await visible(key);
    await shot('sign-in');
    await key.fill('hk_not-a-key');
    await key.press('Enter');
    await visible(page.getByRole('alert').getByText('That API key is not valid.'));
    await key.fill(ADMIN_KEY);
    await key.press('Enter');
    await visible(page.getByRole('heading', { name: 'Topics', level: 1 }));
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const link of ['Topics', 'Messages', 'Dead letters', 'API keys', 'Queue dashboard']) {
      await visible(nav.getByRole('link', { name: link, exact: true }));
    }
    expect(await page.evaluate("sessionStorage.getItem('herald.apiKey')")).toBe(ADMIN_KEY);
    expect(await page.evaluate('localStorage.length + document.cookie.length')).toBe(0);

    // A topic.
    const newTopic = form('New topic');
    await newTopic.getByLabel('Name', { exact: true }).fill('orders');
    await newTopic.getByRole('button', { name: 'Create' }).click();
    await visible(page.getByRole('heading', { name: 'orders', level: 1 }));

    // A webhook subscription to the local receiver; the filter-policy editor checks as one types.
    const newSub = form('New subscription');
    await newSub.getByLabel('Protocol').selectOption('webhook');
    await newSub.getByLabel('Endpoint').fill(receiver.urlFor('127.0.0.1', '/hooks/orders'));
    await newSub.getByLabel('Skip confirmation').check();
    await newSub.getByLabel('Max attempts').fill('2');
    await newSub.getByLabel('Min delay (ms)').fill('100');
    await newSub.getByLabel('Max delay (ms)').fill('200');
    const policy = newSub.getByRole('textbox', { name: /^Filter policy \(JSON/ });
    await policy.fill('{"store": "berlin"}');
    await visible(newSub.locator('#filter-policy-errors li').first());
    expect(await newSub.getByRole('button', { name: 'Create' }).isDisabled()).toBe(true);
    await policy.fill('{"store": ["berlin"]}');
    await visible(newSub.getByText('The filter policy is valid.'));
    await policy.fill('');
    await newSub.getByRole('button', { name: 'Create' }).click();
    const secret = newSub.getByRole('textbox', { name: 'Signing secret' });
    await visible(secret);
    secrets.push(await secret.inputValue());
    expect(secrets[0]).toMatch(/^whsec_/);
    await visible(newSub.getByRole('button', { name: 'Copy' }));
    await visible(page.getByRole('region', { name: 'Subscriptions' }).getByText('active', { exact: true }));

    // Which subscriptions a sample would reach, then a real publish, delivered.
    const publish = form('Publish test message');
    await publish.getByLabel('Body').fill('{"orderId": 1}');
    await publish.getByRole('button', { name: 'Preview recipients' }).click();
    await visible(publish.getByText('This message would reach 1 active subscription.'));
    await shot('topic');
    const delivered = await publishFromTopicPage('{"orderId": 1}');
    await deliveryShows('delivered');
    await shot('message-trace');
    const first = await receiver.next();
    expect(first.verified).toBe(true);
    expect(JSON.parse(first.body)).toMatchObject({
      type: 'Notification',
      messageId: delivered,
      body: { orderId: 1 },
    });

    // The receiver starts failing: two attempts (maxAttempts 2), then a dead letter.
    receiver.answerByDefault(503);
    await page.getByRole('link', { name: 'orders', exact: true }).first().click();
    const failing = await publishFromTopicPage('{"orderId": 2}');
    await deliveryShows('dead');
    expect(receiver.requests.filter((r) => r.answeredWith === 503)).toHaveLength(2);

    await nav.getByRole('link', { name: 'Dead letters' }).click();
    const open = page.getByRole('button', { name: `Open dead letter of ${failing}` });
    await visible(open);
    await open.click();
    const entry = page.getByRole('region', { name: `Dead letter of ${failing}` });
    await visible(entry.getByLabel('Payload').getByText('"orderId": 2'));
    await visible(entry.getByRole('region', { name: 'Attempts' }).getByText('503').first());
    await shot('dead-letters');

    // The receiver recovers: Redrive, and the trace shows it delivered.
    receiver.answerByDefault(200);
    await entry.getByRole('button', { name: 'Redrive' }).click();
    const follow = page.getByRole('link', { name: 'the message’s trace' });
    await visible(follow);
    await follow.click();
    await deliveryShows('delivered');
    const redriven = receiver.requests.at(-1)!;
    expect(redriven.answeredWith).toBe(200);
    expect(redriven.verified).toBe(true);
    expect(JSON.parse(redriven.body)).toMatchObject({ messageId: failing });
    const dlq = await herald.request('GET', '/v1/dead-letters?topic=orders');
    expect(dlq.body.items).toEqual([]);

    // Two more dead letters; Redrive all redrives what the filter shows, with its progress.
    receiver.answerByDefault(503);
    const more = [
      await publishMessage(herald, 'orders', { body: { orderId: 3 } }),
      await publishMessage(herald, 'orders', { body: { orderId: 4 } }),
    ];
    const subscriptionId = (await herald.request('GET', '/v1/topics/orders/subscriptions')).body.items[0].id;
    await deadLettersOf(herald, subscriptionId, 2);
    receiver.answerByDefault(200);
    await page.goto(`${herald.url}/console/#/dead-letters?topic=orders`);
    await visible(page.getByRole('button', { name: `Open dead letter of ${more[1]}` }));
    expect(await page.getByLabel('Topic', { exact: true }).inputValue()).toBe('orders');
    await page.getByRole('button', { name: 'Redrive all' }).click();
    await visible(page.getByRole('status').getByText('2 of 2 redriven'));
    expect(await page.getByRole('progressbar', { name: 'Redrive progress' }).getAttribute('value')).toBe('2');
    for (const id of more) await deliveryOf(herald, id, 'delivered');
    await visible(page.getByText('No dead letters match.'));
  });

  it('manages a subscription: pause, resume, its recent deliveries', async () => {
    await page.goto(`${herald.url}/console/#/topics`);
    await page.getByRole('link', { name: 'orders', exact: true }).click();
    await page.getByRole('link', { name: receiver.urlFor('127.0.0.1', '/hooks/orders') }).click();
    await visible(page.getByRole('heading', { name: 'Subscription', level: 1 }));
    await visible(page.getByRole('region', { name: 'Recent deliveries' }).getByText('delivered').first());
    await visible(page.getByRole('button', { name: 'Rotate secret' }));
    await shot('subscription');
    await page.getByRole('button', { name: 'Pause' }).click();
    await visible(page.getByRole('button', { name: 'Resume' }));
    const subs = await herald.request('GET', '/v1/topics/orders/subscriptions');
    expect(subs.body.items[0].status).toBe('paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await visible(page.getByRole('button', { name: 'Pause' }));
  });

  it('finds a message by id and lists topics with their subscription counts', async () => {
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Messages' }).click();
    const list = await herald.request('GET', '/v1/dead-letters');
    expect(list.status).toBe(200);
    const find = form('Find a message');
    await find.getByLabel('Message id').fill('msg_00000000000000000000000000');
    await find.getByRole('button', { name: 'Find' }).click();
    await visible(page.getByRole('alert').getByText(/does not exist/));
    await nav.getByRole('link', { name: 'Topics' }).click();
    const row = page.getByRole('region', { name: 'Topics' }).getByRole('row', { name: /orders/ });
    await visible(row);
    expect((await row.getByRole('cell').allTextContents()).slice(1)).toEqual(['0', '1', '0', '0', '0']);
    await shot('topics');
  });

  it('creates an API key shown once with a copy button, and deletes it', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).click();
    const create = form('New API key');
    await create.getByLabel('Name').fill('ci-reader');
    await create.getByRole('checkbox', { name: 'publish' }).uncheck();
    await create.getByRole('checkbox', { name: 'read' }).check();
    await create.getByLabel(/^Topics/).fill('orders');
    await create.getByRole('button', { name: 'Create' }).click();
    const shown = create.getByRole('textbox', { name: 'New API key' });
    await visible(shown);
    const key = await shown.inputValue();
    expect(key).toMatch(/^hk_/);
    await visible(create.getByRole('button', { name: 'Copy' }));
    const keys = page.getByRole('region', { name: 'API keys' });
    await visible(keys.getByRole('row', { name: /ci-reader/ }));
    await shot('api-keys');
    const me = await herald.request('GET', '/v1/api-keys/current', undefined, { key });
    expect(me.body).toMatchObject({ name: 'ci-reader', scopes: ['read'], topics: ['orders'] });

    page.once('dialog', (d) => void d.accept());
    await keys.getByRole('button', { name: 'Delete ci-reader' }).click();
    await keys.getByRole('row', { name: /ci-reader/ }).waitFor({ state: 'detached', timeout: WAIT_MS });
    expect((await herald.request('GET', '/v1/topics', undefined, { key })).status).toBe(401);
  });

  it('offers a read-only key nothing it may not do', async () => {
    const reader = await herald.request('POST', '/v1/api-keys', { name: 'viewer', scopes: ['read'] });
    const other = await context.newPage();
    try {
      await other.goto(`${herald.url}/console/#/topics/orders`);
      await other.getByRole('textbox', { name: 'API key' }).fill(reader.body.key);
      await other.getByRole('button', { name: 'Sign in' }).click();
      await other.getByRole('heading', { name: 'orders', level: 1 }).waitFor({ timeout: WAIT_MS });
      await other.getByRole('region', { name: 'Subscriptions' }).waitFor({ timeout: WAIT_MS });
      const nav = other.getByRole('navigation', { name: 'Main' });
      expect(await nav.getByRole('link').allTextContents()).toEqual(['Topics', 'Messages', 'Dead letters']);
      for (const name of ['New subscription', 'Publish test message', 'New topic']) {
        expect(await other.getByRole('form', { name }).count()).toBe(0);
      }
    } finally {
      await other.close();
    }
  });

  it('opens Bull Board from the console, and signing out closes it', async () => {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Queue dashboard' })
      .click();
    await page.waitForURL(`${herald.url}/admin/queues`, { timeout: WAIT_MS });
    await visible(page.getByText('deliver-webhook').first());
    await page.getByText('Loading...').waitFor({ state: 'hidden', timeout: WAIT_MS });
    await shot('queue-dashboard');
    await page.goBack();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await visible(page.getByRole('textbox', { name: 'API key' }));
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    const after = await page.goto(`${herald.url}/admin/queues`);
    expect(after?.status()).toBe(401);
    await page.goBack();
  });

  it('is readable on a phone: nothing wider than the screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${herald.url}/console/`);
    await page.getByRole('textbox', { name: 'API key' }).fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await visible(page.getByRole('heading', { name: 'Topics', level: 1 }));
    // Follow the link as a user would: a hash set by page.goto right after signing in could race the
    // console's own move to #/topics (seen once in five full runs).
    await page.getByRole('link', { name: 'orders', exact: true }).first().click();
    await visible(page.getByRole('heading', { name: 'orders', level: 1 }));
    await visible(page.getByRole('region', { name: 'Subscriptions' }).getByRole('link').first());
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await shot('phone');
  });

  it('loaded everything from Herald itself', () => {
    const elsewhere = requested.filter(
      (url) => !url.startsWith(`${herald.url}/`) && !url.startsWith('data:'),
    );
    expect(elsewhere).toEqual([]);
    expect(requested.some((u) => u.includes('/console/assets/'))).toBe(true);
  });
});
