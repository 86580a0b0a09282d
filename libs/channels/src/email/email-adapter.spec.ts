import { deliveryIdFor, newId, type MessagePayload, type Subscription } from '@herald/core';
import { simpleParser } from 'mailparser';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../../test/support/servers';
import { extractLinks, headerLines, SmtpSink } from '../../../../test/support/smtp-sink';
import type { ConfirmationRequest, NotificationRequest } from '../channel-adapter';
import { EmailAdapter, type EmailLogger } from './email-adapter';

const FROM = 'Herald <herald@example.com>';
const UNSUBSCRIBE_MAILTO = 'unsubscribe@example.com';

function smtpConfig(url: string | null, outboxDir = join(tmpdir(), 'herald-unused-outbox')) {
  return {
    smtp: {
      url,
      from: FROM,
      outboxDir,
      poolSize: 2,
      rateLimitPerSecond: 0,
      unsubscribeMailto: UNSUBSCRIBE_MAILTO,
    },
  };
}

function capturingLogger(): EmailLogger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (obj, msg) => lines.push(`${JSON.stringify(obj)} ${msg}`) };
}

function subscription(endpoint = 'reader@example.com'): Subscription {
  const now = new Date();
  return {
    id: newId('sub'),
    topic: 'orders',
    protocol: 'email',
    endpoint,
    status: 'active',
    filterPolicy: null,
    filterPolicyScope: 'attributes',
    rawDelivery: false,
    deliveryPolicy: null,
    metadata: {},
    format: 'herald',
    secret: null,
    previousSecret: null,
    previousSecretExpiresAt: null,
    unsubscribeToken: 'unsubscribe-token',
    createdAt: now,
    updatedAt: now,
    confirmedAt: now,
  };
}

function notification(
  opts: { message?: Partial<MessagePayload>; displayName?: string | null; endpoint?: string } = {},
): NotificationRequest {
  const sub = subscription(opts.endpoint);
  const message: MessagePayload = {
    id: newId('msg'),
    topic: 'orders',
    subject: 'Order 42 shipped',
    body: 'Your order is on its way.',
    attributes: {},
    bodyByProtocol: {},
    publishedAt: new Date().toISOString(),
    ...opts.message,
  };
  return {
    kind: 'Notification',
    deliveryId: deliveryIdFor(message.id, sub.id),
    attempt: 1,
    subscription: sub,
    topic: {
      name: 'orders',
      displayName: opts.displayName === undefined ? 'Order updates' : opts.displayName,
    },
    unsubscribeUrl: `https://herald.example/v1/subscriptions/unsubscribe?token=unsub-${sub.id}`,
    message,
  };
}

function confirmation(): ConfirmationRequest {
  const sub = subscription();
  const messageId = newId('msg');
  return {
    kind: 'SubscriptionConfirmation',
    deliveryId: deliveryIdFor(messageId, sub.id),
    attempt: 1,
    subscription: { ...sub, status: 'pending', confirmedAt: null },
    topic: { name: 'orders', displayName: 'Order updates' },
    unsubscribeUrl: `https://herald.example/v1/subscriptions/unsubscribe?token=unsub-${sub.id}`,
    messageId,
    token: 'confirm-token-123',
    confirmUrl: 'https://herald.example/v1/subscriptions/confirm?token=confirm-token-123',
  };
}

/** One header line as a reader sees it: folding undone (RFC 5322 unfolding removes only the CRLF). */
function unfolded(lines: string[]): string[] {
  return lines.map((l) => l.replace(/\r?\n(?=[ \t])/g, ''));
}

describe('EmailAdapter over SMTP', () => {
  let sink: SmtpSink;
  let adapter: EmailAdapter;
  const logger = capturingLogger();

  beforeAll(async () => {
    sink = await SmtpSink.start();
    adapter = new EmailAdapter(smtpConfig(sink.url()), { logger });
  });

  afterAll(async () => {
    await adapter?.close();
    await sink?.stop();
  });

  it('sends a notification with text and HTML parts, one-click unsubscribe and Herald headers', async () => {
    const request = notification({ message: { body: 'Tom & Jerry <b>shipped</b>\n\nSecond paragraph' } });
    const outcome = await adapter.send(request);
    const mail = await sink.nextMessage();

    expect(outcome).toEqual({
      result: 'delivered',
      statusCode: 250,
      providerMessageId: `<${request.deliveryId}@example.com>`,
    });
    expect(mail.envelope).toEqual({ from: 'herald@example.com', to: ['reader@example.com'] });
    expect(mail.parsed.subject).toBe('Order 42 shipped');
    expect(mail.parsed.text).toContain('Tom & Jerry <b>shipped</b>\n\nSecond paragraph');
    expect(extractLinks(mail.parsed.text)).toEqual([request.unsubscribeUrl]);
    expect(mail.parsed.html).toContain('<p>Tom &#38; Jerry &#60;b&#62;shipped&#60;/b&#62;</p>');
    expect(mail.parsed.html).toContain('<p>Second paragraph</p>');
    expect(mail.parsed.html).toContain(`<a href="${request.unsubscribeUrl}">Unsubscribe</a>`);

    const mailto = `mailto:${UNSUBSCRIBE_MAILTO}?subject=unsubscribe%20${request.subscription.id}`;
    expect(unfolded(headerLines(mail.parsed, 'List-Unsubscribe'))).toEqual([
      `List-Unsubscribe: <${request.unsubscribeUrl}>, <${mailto}>`,
    ]);
    expect(headerLines(mail.parsed, 'List-Unsubscribe-Post')).toEqual([
      'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
    ]);
    expect(headerLines(mail.parsed, 'X-Herald-Message-Id')).toEqual([
      `X-Herald-Message-ID: ${request.message.id}`,
    ]);
    expect(headerLines(mail.parsed, 'X-Herald-Topic')).toEqual(['X-Herald-Topic: orders']);
    expect(headerLines(mail.parsed, 'X-Herald-Subscription-Id')).toEqual([
      `X-Herald-Subscription-ID: ${request.subscription.id}`,
    ]);
    expect(headerLines(mail.parsed, 'X-Herald-Message-Type')).toEqual([
      'X-Herald-Message-Type: Notification',
    ]);
  });

  it('takes the subject from the message, else the topic display name, else the topic name, on one line', async () => {
    const cases: Array<[NotificationRequest, string]> = [
      [
        notification({ message: { subject: 'Line one\r\nBcc: eve@example.com' } }),
        'Line one Bcc: eve@example.com',
      ],
      [notification({ message: { subject: null } }), 'Order updates'],
      [notification({ message: { subject: null }, displayName: null }), 'Notification from orders'],
    ];
    for (const [request, subject] of cases) {
      expect((await adapter.send(request)).result).toBe('delivered');
      const mail = await sink.nextMessage();
      expect(mail.parsed.subject).toBe(subject);
      expect(headerLines(mail.parsed, 'Bcc')).toEqual([]);
      expect(mail.envelope.to).toEqual(['reader@example.com']);
    }
  });

  it('uses bodyByProtocol.email when given, and pretty-prints JSON bodies', async () => {
    await adapter.send(
      notification({
        message: { body: 'generic body', bodyByProtocol: { email: 'Email-only text', sms: 'SMS text' } },
      }),
    );
    const specific = await sink.nextMessage();
    expect(specific.parsed.text).toMatch(/^Email-only text\n/);
    expect(specific.parsed.text).not.toContain('generic body');
    expect(specific.parsed.text).not.toContain('SMS text');

    await adapter.send(notification({ message: { body: { order: 42, items: ['a<b'] } } }));
    const json = await sink.nextMessage();
    expect(json.parsed.text).toContain('{\n  "order": 42,\n  "items": [\n    "a<b"\n  ]\n}');
    expect(json.parsed.html).toContain('<pre>{\n  &#34;order&#34;: 42');
  });

  it('gives every attempt of one delivery the same Message-ID', async () => {
    const first = notification();
    const second = { ...first, attempt: 2 };
    const outcomes = [await adapter.send(first), await adapter.send(second)];
    const mails = [await sink.nextMessage(), await sink.nextMessage()];
    const expected = `<${first.deliveryId}@example.com>`;
    expect(mails.map((m) => m.parsed.messageId)).toEqual([expected, expected]);
    expect(outcomes.map((o) => (o.result === 'delivered' ? o.providerMessageId : null))).toEqual([
      expected,
      expected,
    ]);
    expect(unfolded(headerLines(mails[0].parsed, 'Message-ID'))).toEqual([`Message-ID: ${expected}`]);
  });

  it('sends a confirmation with the confirm link, the 72 h expiry and the ignore line', async () => {
    const request = confirmation();
    expect((await adapter.send(request)).result).toBe('delivered');
    const mail = await sink.nextMessage();
    expect(mail.parsed.subject).toBe('Confirm your subscription to Order updates');
    expect(extractLinks(mail.parsed.text)).toEqual([request.confirmUrl]);
    expect(mail.parsed.text).toContain('expires in 72 hours');
    expect(mail.parsed.text).toMatch(/did not ask for this, you can ignore this email/);
    expect(mail.parsed.html).toContain(`<a href="${request.confirmUrl}">Confirm the subscription</a>`);
    expect(headerLines(mail.parsed, 'X-Herald-Message-Type')).toEqual([
      'X-Herald-Message-Type: SubscriptionConfirmation',
    ]);
    expect(headerLines(mail.parsed, 'X-Herald-Message-Id')).toEqual([
      `X-Herald-Message-ID: ${request.messageId}`,
    ]);
    expect(headerLines(mail.parsed, 'List-Unsubscribe-Post')).toHaveLength(1);
  });

  it.each([
    ['RCPT', 451, 'retry'],
    ['DATA', 451, 'retry'],
    ['RCPT', 550, 'failed'],
    ['DATA', 554, 'failed'],
  ] as const)('classifies a %s answered with %i as %s', async (stage, code, result) => {
    const before = sink.messages.length;
    const forcedBefore = sink.forcedReplies.length;
    sink.failNext(stage, code);
    const outcome = await adapter.send(notification());
    expect(sink.forcedReplies.slice(forcedBefore)).toEqual([{ stage, code }]);
    expect(outcome).toMatchObject({ result, statusCode: code });
    expect(sink.messages.length).toBe(before);

    // The pooled connection stays usable after a rejection.
    const next = notification();
    expect((await adapter.send(next)).result).toBe('delivered');
    expect((await sink.nextMessage()).parsed.messageId).toBe(`<${next.deliveryId}@example.com>`);
  });

  it('dead-letters a subscription whose address is not valid without contacting the server', async () => {
    const before = sink.messages.length;
    const outcome = await adapter.send(notification({ endpoint: 'not an address' }));
    expect(outcome.result).toBe('failed');
    expect(sink.messages.length).toBe(before);
  });

  it('normalises endpoints through checkEndpoint', () => {
    expect(adapter.checkEndpoint('Reader@Example.COM')).toEqual({ ok: true, endpoint: 'Reader@example.com' });
    expect(adapter.checkEndpoint('Reader <reader@example.com>').ok).toBe(false);
    expect(adapter.availability()).toEqual({ available: true });
    expect(adapter.mode).toBe('smtp');
  });

  it('logs where email goes without the password', () => {
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toContain(`smtp://127.0.0.1:${sink.port}`);
  });
});

describe('EmailAdapter failures', () => {
  it('retries when nothing listens on the SMTP port', async () => {
    const port = await freePort();
    const adapter = new EmailAdapter(smtpConfig(`smtp://127.0.0.1:${port}`), { logger: capturingLogger() });
    try {
      const outcome = await adapter.send(notification());
      expect(outcome).toMatchObject({ result: 'retry', error: expect.stringContaining('ECONNREFUSED') });
    } finally {
      await adapter.close();
    }
  });

  it('retries on rejected credentials, never showing the password', async () => {
    const password = 'S3cret/pa$$word';
    const sink = await SmtpSink.start({ auth: { user: 'herald', pass: password } });
    const logger = capturingLogger();
    const wrong = new EmailAdapter(smtpConfig(sink.url({ user: 'herald', pass: `${password}-wrong` })), {
      logger,
    });
    const right = new EmailAdapter(smtpConfig(sink.url({ user: 'herald', pass: password })), { logger });
    try {
      const outcome = await wrong.send(notification());
      expect(outcome).toMatchObject({
        result: 'retry',
        statusCode: 535,
        error: expect.stringMatching(/authentication failed.*SMTP_URL/i),
      });
      expect(JSON.stringify(outcome)).not.toContain(password);
      expect(JSON.stringify(outcome)).not.toContain(encodeURIComponent(password));
      expect(logger.lines.join('\n')).not.toContain(password.slice(0, 6));
      expect(logger.lines.join('\n')).toContain('herald:***@127.0.0.1');

      expect((await right.send(notification())).result).toBe('delivered');
      await sink.waitForMessages(1);
    } finally {
      await wrong.close();
      await right.close();
      await sink.stop();
    }
  });

  it('answers retry after close instead of reopening the pool', async () => {
    const sink = await SmtpSink.start();
    const adapter = new EmailAdapter(smtpConfig(sink.url()), { logger: capturingLogger() });
    try {
      await adapter.close();
      expect(await adapter.send(notification())).toMatchObject({ result: 'retry' });
      expect(sink.messages).toHaveLength(0);
    } finally {
      await sink.stop();
    }
  });

  it('refuses a From without an address at construction', () => {
    const config = smtpConfig(null);
    expect(
      () => new EmailAdapter({ smtp: { ...config.smtp, from: 'Herald' } }, { logger: capturingLogger() }),
    ).toThrow(/EMAIL_FROM/);
  });
});

describe('EmailAdapter without SMTP_URL', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herald-outbox-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes each email as a parseable .eml file into the outbox folder and says so once at start', async () => {
    const outbox = join(dir, 'outbox');
    const logger = capturingLogger();
    const adapter = new EmailAdapter(smtpConfig(null, outbox), { logger });
    expect(adapter.mode).toBe('outbox');
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toContain(outbox);

    const request = notification();
    const outcome = await adapter.send(request);
    const confirm = confirmation();
    expect((await adapter.send(confirm)).result).toBe('delivered');
    await adapter.close();

    expect(outcome).toEqual({
      result: 'delivered',
      providerMessageId: `<${request.deliveryId}@example.com>`,
    });
    const files = (await readdir(outbox)).sort();
    expect(files).toHaveLength(2);
    const pattern = (messageId: string, deliveryId: string) =>
      new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\d\\.\\d{3}Z-${messageId}-${deliveryId}\\.eml$`);
    const notificationFile = files.find((f) => pattern(request.message.id, request.deliveryId).test(f));
    const confirmationFile = files.find((f) => pattern(confirm.messageId, confirm.deliveryId).test(f));
    expect(notificationFile).toBeDefined();
    expect(confirmationFile).toBeDefined();

    const parsed = await simpleParser(await readFile(join(outbox, notificationFile!)));
    expect(parsed.subject).toBe('Order 42 shipped');
    expect(parsed.messageId).toBe(`<${request.deliveryId}@example.com>`);
    expect(parsed.text).toContain('Your order is on its way.');
    expect(headerLines(parsed, 'List-Unsubscribe-Post')).toEqual([
      'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
    ]);
    expect(logger.lines).toHaveLength(1);
  });
});
