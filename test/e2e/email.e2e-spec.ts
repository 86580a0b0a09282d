import { Catalog } from '@herald/catalog';
import { simpleParser } from 'mailparser';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../apps/api/src/subscriptions/subscriptions.service';
import { ADMIN_KEY, eventually, startHerald, type CatalogKind, type TestHerald } from '../support/herald';
import {
  expectEndpointRefused,
  createTopic,
  deadLettersOf,
  deliveryOf,
  publish,
  settledCounts,
  subscribe,
  subscriptionStatus,
} from '../support/herald-api';
import { extractLinks, headerLines, SmtpSink, type ReceivedEmail } from '../support/smtp-sink';

const FROM = 'Herald Test <notify@herald.example>';
const FAST = { minDelayMs: 100, maxDelayMs: 1000 };
const ONE_CLICK = 'List-Unsubscribe=One-Click';

/** The next email the sink accepts for `to` that `match` accepts (every email is kept; tests use their own addresses). */
async function mailFor(
  sink: SmtpSink,
  to: string,
  match: (m: ReceivedEmail) => boolean = () => true,
): Promise<ReceivedEmail> {
  return eventually(
    async () => sink.messages.find((m) => m.envelope.to.includes(to) && match(m)),
    `an email to ${to}`,
  );
}

const ofMessage = (messageId: string) => (m: ReceivedEmail) =>
  m.parsed.headers.get('x-herald-message-id') === messageId;
const isConfirmation = (m: ReceivedEmail) =>
  m.parsed.headers.get('x-herald-message-type') === 'SubscriptionConfirmation';

/** The confirm link of a confirmation email (text part), which must point at the test server. */
function confirmLink(herald: TestHerald, mail: ReceivedEmail): string {
  const link = extractLinks(mail.parsed.text).find((l) => l.includes('/v1/subscriptions/confirm?token='));
  expect(link, mail.parsed.text).toBeDefined();
  expect(link!.startsWith(`${herald.url}/v1/subscriptions/confirm?token=`)).toBe(true);
  return link!;
}

/** The raw header lines named `name`, unfolded (RFC 5322: a line break before white space is removed). */
function unfolded(mail: ReceivedEmail['parsed'], name: string): string[] {
  return headerLines(mail, name).map((line) => line.replace(/\r?\n(?=[ \t])/g, ''));
}

/** The http(s) URL of the email's one List-Unsubscribe header line. */
function unsubscribeLink(mail: ReceivedEmail): string {
  const lines = unfolded(mail.parsed, 'list-unsubscribe');
  expect(lines).toHaveLength(1);
  const url = /<(https?:[^>]+)>/.exec(lines[0])?.[1];
  expect(url, lines[0]).toBeDefined();
  return url!;
}

/** RFC 8058: what a mail client sends when the reader clicks its unsubscribe button. */
function oneClick(url: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: ONE_CLICK,
  });
}

describe.each<CatalogKind>(['sqlite', 'postgres'])('email end to end (%s catalog)', (kind) => {
  let herald: TestHerald;
  let sink: SmtpSink;
  let n = 0;
  const address = (who: string) => `${who}.${++n}.${kind}@example.com`;

  // The relay wants a login: the password travels in SMTP_URL and must never show up in a record.
  const credentials = { user: 'herald', pass: `pw-${kind}-Zq81x` };

  beforeAll(async () => {
    sink = await SmtpSink.start({ auth: credentials });
    herald = await startHerald(kind, { SMTP_URL: sink.url(credentials), EMAIL_FROM: FROM });
  });
  afterAll(async () => {
    await herald?.close();
    await sink?.stop();
  });

  it('double opt-in, notification email with one-click headers, and RFC 8058 unsubscribe', async () => {
    const topic = await createTopic(herald, `orders-${kind}`, 'Order updates');
    const alice = address('alice');
    const bob = address('bob');

    const created = await subscribe(herald, topic, { protocol: 'email', endpoint: alice });
    expect(created.status).toBe('pending');
    expect(created.secret).toBeUndefined();
    const confirmation = await mailFor(sink, alice, isConfirmation);
    expect(confirmation.envelope.from).toBe('notify@herald.example');
    expect(confirmation.parsed.subject).toBe('Confirm your subscription to Order updates');
    const link = confirmLink(herald, confirmation);
    expect(confirmation.parsed.html).toContain(link);

    // Pending subscriptions get nothing.
    const early = await publish(herald, topic, { body: 'before confirming' });
    expect((await settledCounts(herald, early)).matched).toBe(0);

    const page = await fetch(link);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await subscriptionStatus(herald, created.id)).toBe('active');

    const bobSub = await subscribe(herald, topic, {
      protocol: 'email',
      endpoint: bob,
      skipConfirmation: true,
    });
    expect(bobSub.status).toBe('active');

    const first = await publish(herald, topic, {
      subject: 'Order 7 shipped',
      body: { orderId: 7, carrier: 'DHL' },
      bodyByProtocol: { email: 'Your order 7 is on its way.\n\nTrack it with DHL.' },
    });
    const mail = await mailFor(sink, alice, ofMessage(first));
    expect(mail.envelope.from).toBe('notify@herald.example');
    expect(mail.parsed.from?.text).toBe('"Herald Test" <notify@herald.example>');
    expect(mail.parsed.subject).toBe('Order 7 shipped');
    expect(mail.parsed.text).toContain('Your order 7 is on its way.');
    expect(mail.parsed.text).not.toContain('orderId');
    expect(mail.parsed.html).toContain('<p>Your order 7 is on its way.</p>');
    expect(mail.parsed.html).toContain('<p>Track it with DHL.</p>');
    const unsubscribeUrl = unsubscribeLink(mail);
    expect(unsubscribeUrl.startsWith(`${herald.url}/v1/subscriptions/unsubscribe?token=`)).toBe(true);
    expect(unfolded(mail.parsed, 'list-unsubscribe')).toEqual([`List-Unsubscribe: <${unsubscribeUrl}>`]);
    expect(unfolded(mail.parsed, 'list-unsubscribe-post')).toEqual([`List-Unsubscribe-Post: ${ONE_CLICK}`]);
    expect(mail.parsed.text).toContain(unsubscribeUrl);
    const delivered = await deliveryOf(herald, first, 'delivered', created.id);
    expect(delivered.attempts).toHaveLength(1);
    expect(delivered.attempts[0]).toMatchObject({ outcome: 'delivered', statusCode: 250 });

    // Without a subject the topic's display name is the subject; the body is the published one.
    const second = await publish(herald, topic, { body: 'Shop closes early today.' });
    const plain = await mailFor(sink, alice, ofMessage(second));
    expect(plain.parsed.subject).toBe('Order updates');
    expect(plain.parsed.text).toContain('Shop closes early today.');

    // Both went to alice and bob; wait for them so no send of this test is left for the next one.
    for (const m of [first, second]) {
      expect(await settledCounts(herald, m)).toMatchObject({ matched: 2, delivered: 2 });
    }
    const clicked = await oneClick(unsubscribeUrl);
    expect(clicked.status).toBe(200);
    expect(await subscriptionStatus(herald, created.id)).toBe('unsubscribed');

    const third = await publish(herald, topic, { subject: 'After unsubscribe', body: 'only bob' });
    await mailFor(sink, bob, ofMessage(third));
    const counts = await settledCounts(herald, third);
    expect(counts).toMatchObject({ matched: 1, delivered: 1, failed: 0 });
    expect(sink.messages.filter((m) => m.envelope.to.includes(alice) && ofMessage(third)(m))).toHaveLength(0);
    const toBob = await herald.request('GET', `/v1/messages/${third}/deliveries`);
    expect(toBob.body.items.map((d: { subscriptionId: string }) => d.subscriptionId)).toEqual([bobSub.id]);
  });

  it('retries SMTP 451 and delivers, recording every attempt', async () => {
    const topic = await createTopic(herald, `busy-${kind}`);
    const to = address('carol');
    const sub = await subscribe(herald, topic, {
      protocol: 'email',
      endpoint: to,
      skipConfirmation: true,
      deliveryPolicy: FAST,
    });
    sink.failNext('RCPT', 451, 2);
    const messageId = await publish(herald, topic, { subject: 'Greylisted', body: 'try again later' });
    const delivery = await deliveryOf(herald, messageId, 'delivered', sub.id);
    expect(
      delivery.attempts.map((a: { outcome: string; statusCode: number }) => [a.outcome, a.statusCode]),
    ).toEqual([
      ['retry', 451],
      ['retry', 451],
      ['delivered', 250],
    ]);
    expect(delivery.attempts[0].error).toContain('451');
    expect(JSON.stringify(delivery)).not.toContain(credentials.pass);
    const mails = sink.messages.filter((m) => m.envelope.to.includes(to));
    expect(mails).toHaveLength(1);
    expect(mails[0].parsed.subject).toBe('Greylisted');
  });

  it('dead-letters SMTP 550 after one attempt', async () => {
    const topic = await createTopic(herald, `bounce-${kind}`);
    const to = address('dave');
    const sub = await subscribe(herald, topic, {
      protocol: 'email',
      endpoint: to,
      skipConfirmation: true,
      deliveryPolicy: FAST,
    });
    sink.failNext('DATA', 550);
    const messageId = await publish(herald, topic, { body: 'rejected' });
    const delivery = await deliveryOf(herald, messageId, 'dead', sub.id);
    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0]).toMatchObject({ outcome: 'failed', statusCode: 550 });
    const [dead] = await deadLettersOf(herald, sub.id);
    expect(dead).toMatchObject({
      messageId,
      subscriptionId: sub.id,
      topic,
      protocol: 'email',
      endpoint: to,
      attempts: 1,
      lastStatusCode: 550,
    });
    expect(JSON.stringify([delivery, dead])).not.toContain(credentials.pass);
    expect(sink.forcedReplies.at(-1)).toEqual({ stage: 'DATA', code: 550 });
    expect(sink.messages.filter((m) => m.envelope.to.includes(to))).toHaveLength(0);
  });
});

describe('email subscriptions: confirmation, unsubscribe page and bad input (sqlite)', () => {
  let herald: TestHerald;
  let sink: SmtpSink;
  let n = 0;
  const address = (who: string) => `${who}.${++n}@example.org`;
  const MAILTO = 'unsubscribe@herald.example';

  beforeAll(async () => {
    sink = await SmtpSink.start();
    herald = await startHerald('sqlite', {
      SMTP_URL: sink.url(),
      EMAIL_FROM: FROM,
      EMAIL_UNSUBSCRIBE_MAILTO: MAILTO,
    });
    await createTopic(herald, 'news', 'News');
  });
  afterAll(async () => {
    await herald?.close();
    await sink?.stop();
  });

  it('offers the mailto beside the link, and the unsubscribe page posts a working form', async () => {
    const to = address('erin');
    const sub = await subscribe(herald, 'news', { protocol: 'email', endpoint: to, skipConfirmation: true });
    const messageId = await publish(herald, 'news', { subject: 'Hello', body: 'news of the day' });
    const mail = await mailFor(sink, to, ofMessage(messageId));
    const url = unsubscribeLink(mail);
    expect(unfolded(mail.parsed, 'list-unsubscribe')).toEqual([
      `List-Unsubscribe: <${url}>, <mailto:${MAILTO}?subject=unsubscribe%20${sub.id}>`,
    ]);
    expect(unfolded(mail.parsed, 'list-unsubscribe-post')).toEqual([`List-Unsubscribe-Post: ${ONE_CLICK}`]);

    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain(to);
    const form = /<form method="post" action="([^"]+)">/.exec(html);
    expect(form, html).not.toBeNull();
    expect(html).toContain('name="List-Unsubscribe" value="One-Click"');
    // The GET changed nothing: only the POST unsubscribes (mail scanners follow links).
    expect(await subscriptionStatus(herald, sub.id)).toBe('active');

    const action = new URL(form![1].replace(/&amp;/g, '&'), url).toString();
    expect(action).toBe(url);
    const posted = await oneClick(action);
    expect(posted.status).toBe(200);
    expect(await posted.text()).toContain('Unsubscribed');
    expect(await subscriptionStatus(herald, sub.id)).toBe('unsubscribed');
    // A second click is harmless.
    expect((await oneClick(action)).status).toBe(200);

    const unknown = `${herald.url}/v1/subscriptions/unsubscribe?token=no-such-token`;
    expect((await fetch(unknown)).status).toBe(404);
    expect((await oneClick(unknown)).status).toBe(404);
  });

  it('accepts the one-click POST as multipart/form-data, the encoding RFC 8058 recommends', async () => {
    const to = address('olivia');
    const sub = await subscribe(herald, 'news', { protocol: 'email', endpoint: to, skipConfirmation: true });
    const messageId = await publish(herald, 'news', { body: 'multipart' });
    const url = unsubscribeLink(await mailFor(sink, to, ofMessage(messageId)));
    const form = new FormData();
    form.set('List-Unsubscribe', 'One-Click');
    const res = await fetch(url, { method: 'POST', body: form });
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.status).toBe(200);
    expect(await subscriptionStatus(herald, sub.id)).toBe('unsubscribed');
    // Other routes still take JSON only.
    const elsewhere = await fetch(`${herald.url}/v1/topics`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      body: form,
    });
    expect(elsewhere.status).toBe(415);
  });

  it('resends a confirmation with a new link; the old, an unknown and an expired link are 404', async () => {
    const to = address('frank');
    const sub = await subscribe(herald, 'news', { protocol: 'email', endpoint: to });
    const firstLink = confirmLink(herald, await mailFor(sink, to, isConfirmation));

    const resent = await herald.request('POST', `/v1/subscriptions/${sub.id}/confirmation`);
    expect(resent.status).toBe(202);
    const second = await eventually(async () => {
      const mails = sink.messages.filter((m) => m.envelope.to.includes(to) && isConfirmation(m));
      return mails.length === 2 ? mails[1] : undefined;
    }, 'the second confirmation email');
    const secondLink = confirmLink(herald, second);
    expect(secondLink).not.toBe(firstLink);

    const json = { headers: { accept: 'application/json' } };
    expect((await fetch(firstLink, json)).status).toBe(404);
    const unknown = await fetch(`${herald.url}/v1/subscriptions/confirm?token=not-a-token`, json);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toContain('application/problem+json');
    expect(await subscriptionStatus(herald, sub.id)).toBe('pending');

    const confirmed = await fetch(secondLink, json);
    expect(confirmed.status).toBe(200);
    expect(await confirmed.json()).toMatchObject({ id: sub.id, status: 'active' });
    expect(await subscriptionStatus(herald, sub.id)).toBe('active');

    const again = await herald.request('POST', `/v1/subscriptions/${sub.id}/confirmation`);
    expect(again.status).toBe(409);
    const unknownSub = await herald.request(
      'POST',
      '/v1/subscriptions/sub_00000000000000000000000000/confirmation',
    );
    expect(unknownSub.status).toBe(404);

    // A link past its 72 hours: the token is moved into the past in the catalog rather than waiting.
    const late = address('grace');
    const lateSub = await subscribe(herald, 'news', { protocol: 'email', endpoint: late });
    const lateLink = confirmLink(herald, await mailFor(sink, late, isConfirmation));
    const token = new URL(lateLink).searchParams.get('token')!;
    const catalog = herald.app.get(Catalog);
    await catalog.subscriptions.setConfirmationToken(
      lateSub.id,
      hashToken(token),
      new Date(Date.now() - 1000),
    );
    expect((await fetch(lateLink, json)).status).toBe(404);
    expect(await subscriptionStatus(herald, lateSub.id)).toBe('pending');
  });

  it('skipConfirmation: active at once with an admin key, 403 with a subscribe key', async () => {
    const key = await herald.request('POST', '/v1/api-keys', {
      name: 'subscriber',
      scopes: ['subscribe', 'read'],
    });
    expect(key.status).toBe(201);
    const to = address('heidi');
    const denied = await herald.request(
      'POST',
      '/v1/topics/news/subscriptions',
      { protocol: 'email', endpoint: to, skipConfirmation: true },
      { key: key.body.key },
    );
    expect(denied.status).toBe(403);
    const listed = await herald.request('GET', '/v1/topics/news/subscriptions?protocol=email');
    expect(listed.body.items.map((s: { endpoint: string }) => s.endpoint)).not.toContain(to);

    // The same key without skipConfirmation gets a pending subscription and a confirmation email.
    const pending = await herald.request(
      'POST',
      '/v1/topics/news/subscriptions',
      { protocol: 'email', endpoint: to },
      { key: key.body.key },
    );
    expect(pending.status).toBe(201);
    expect(pending.body.status).toBe('pending');
    await mailFor(sink, to, isConfirmation);

    const admin = await subscribe(herald, 'news', {
      protocol: 'email',
      endpoint: address('ivan'),
      skipConfirmation: true,
    });
    expect(admin.status).toBe('active');
    expect(admin.confirmedAt).not.toBeNull();
  });

  it.each([
    'not-an-address',
    'ivan@localhost',
    'Ivan <ivan@example.com>',
    'ivan@@example.com',
    'iv an@example.com',
    'ivan@example.com, judy@example.com',
    'ivan@example..com',
    '.ivan@example.com',
    'ivan@127.0.0.1',
  ])('answers 400 for the address %j and creates nothing', async (endpoint) => {
    await expectEndpointRefused(herald, 'news', 'email', endpoint);
  });

  it('normalises the address: domain lower-cased, surrounding spaces dropped', async () => {
    const sub = await subscribe(herald, 'news', {
      protocol: 'email',
      endpoint: '  Kim.Lee@Example.COM ',
      skipConfirmation: true,
    });
    expect(sub.endpoint).toBe('Kim.Lee@example.com');
  });
});

describe('email without SMTP_URL: the .eml outbox (sqlite)', () => {
  let herald: TestHerald;
  let outbox: string;

  beforeAll(async () => {
    outbox = mkdtempSync(join(tmpdir(), 'herald-outbox-'));
    herald = await startHerald('sqlite', { EMAIL_OUTBOX_DIR: outbox, EMAIL_FROM: FROM });
  });
  afterAll(async () => {
    await herald?.close();
    rmSync(outbox, { recursive: true, force: true });
  });

  it('writes the notification as an .eml file instead of sending it', async () => {
    await createTopic(herald, 'local', 'Local');
    const sub = await subscribe(herald, 'local', {
      protocol: 'email',
      endpoint: 'dev@example.com',
      skipConfirmation: true,
    });
    const messageId = await publish(herald, 'local', { subject: 'Written to disk', body: 'see the outbox' });
    const delivery = await deliveryOf(herald, messageId, 'delivered', sub.id);
    expect(delivery.attempts).toHaveLength(1);
    const file = await eventually(
      async () => readdirSync(outbox).find((f) => f.endsWith('.eml') && f.includes(messageId)),
      'an .eml file in the outbox',
    );
    expect(file).toContain(delivery.id);
    const mail = await simpleParser(readFileSync(join(outbox, file)));
    expect(mail.subject).toBe('Written to disk');
    expect(mail.text).toContain('see the outbox');
    expect(mail.headers.get('x-herald-message-id')).toBe(messageId);
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.text : '').toBe('dev@example.com');
    expect(unfolded(mail, 'list-unsubscribe-post')).toEqual([`List-Unsubscribe-Post: ${ONE_CLICK}`]);
    expect(readdirSync(outbox).filter((f) => !f.endsWith('.eml'))).toEqual([]);
  });
});
