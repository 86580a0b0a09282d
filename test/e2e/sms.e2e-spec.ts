import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startHerald, type CatalogKind, type TestHerald } from '../support/herald';
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
import { postSignedForm, TwilioServer, type RecordedMessage } from '../support/twilio-server';

const SENDER = '+15005550006';
const FAST = { minDelayMs: 100, maxDelayMs: 1000 };

function twilioEnv(twilio: TwilioServer, messagesPerSecond: number): Record<string, string> {
  return {
    TWILIO_ACCOUNT_SID: twilio.accountSid,
    TWILIO_AUTH_TOKEN: twilio.authToken,
    TWILIO_FROM: SENDER,
    TWILIO_API_BASE_URL: twilio.url,
    TWILIO_MESSAGES_PER_SECOND: String(messagesPerSecond),
  };
}

/** The message Twilio accepted for `to` with this text, waiting for it. */
async function smsTo(twilio: TwilioServer, to: string, body: string): Promise<RecordedMessage> {
  return eventually(
    async () => twilio.messages.find((m) => m.to === to && m.body === body),
    `an SMS to ${to} saying ${JSON.stringify(body)}`,
  );
}

/** A Twilio status callback for the message `sid`, signed with `token` (Twilio's auth token unless forging). */
async function statusCallback(
  herald: TestHerald,
  twilio: TwilioServer,
  sms: RecordedMessage,
  status: string,
  extra: Record<string, string> = {},
  token = twilio.authToken,
) {
  // Twilio calls the URL Herald gave it with the message (it names the delivery).
  return postSignedForm(
    sms.statusCallback ?? `${herald.url}/v1/providers/twilio/status`,
    {
      AccountSid: twilio.accountSid,
      MessageSid: sms.sid,
      SmsSid: sms.sid,
      MessageStatus: status,
      SmsStatus: status,
      To: sms.to,
      From: SENDER,
      ApiVersion: '2010-04-01',
      ...extra,
    },
    token,
  );
}

/** An incoming SMS from `from`, as Twilio posts it to the inbound webhook. */
async function inbound(
  herald: TestHerald,
  twilio: TwilioServer,
  from: string,
  body: string,
  token = twilio.authToken,
) {
  return postSignedForm(
    `${herald.url}/v1/providers/twilio/inbound`,
    {
      AccountSid: twilio.accountSid,
      MessageSid: `SM${randomBytes(16).toString('hex')}`,
      From: from,
      To: SENDER,
      Body: body,
      NumMedia: '0',
      ApiVersion: '2010-04-01',
    },
    token,
  );
}

describe.each<CatalogKind>(['sqlite', 'postgres'])('SMS end to end (%s catalog)', (kind) => {
  let herald: TestHerald;
  let twilio: TwilioServer;
  let topicN = 0;
  let numberN = 0;
  const topicName = (what: string) => `${what}-${++topicN}-${kind}`;
  // Valid US numbers (NANP 555-01xx are reserved for fiction), different in every test.
  const number = () => `+1415555${String(100 + ++numberN).padStart(4, '0')}`;

  beforeAll(async () => {
    twilio = await TwilioServer.start();
    herald = await startHerald(kind, twilioEnv(twilio, 1000));
  });
  afterAll(async () => {
    await herald?.close();
    await twilio?.close();
  });

  it('is active at once, sends through Twilio with a status callback, and the callbacks update the delivery', async () => {
    const topic = await createTopic(herald, topicName('alerts'), 'Alerts');
    const to = number();
    const sub = await subscribe(herald, topic, {
      protocol: 'sms',
      endpoint: `${to.slice(0, 2)} (${to.slice(2, 5)}) ${to.slice(5, 8)}-${to.slice(8)}`,
    });
    expect(sub).toMatchObject({ protocol: 'sms', endpoint: to, status: 'active' });
    expect(sub.confirmedAt).not.toBeNull();
    expect(sub.secret).toBeUndefined();

    const first = await publish(herald, topic, {
      subject: 'Disk full',
      body: { host: 'db-1', free: 0 },
      bodyByProtocol: { sms: 'db-1: disk full' },
    });
    const sms = await smsTo(twilio, to, 'db-1: disk full');
    expect(sms).toMatchObject({
      accountSid: twilio.accountSid,
      from: SENDER,
      messagingServiceSid: null,
    });
    expect(sms.statusCallback).toMatch(
      new RegExp(`^${herald.url}/v1/providers/twilio/status\\?delivery=dlv_[0-9A-Z]{52}$`),
    );
    const delivered = await deliveryOf(herald, first, 'delivered', sub.id);
    expect(delivered.providerMessageId).toBe(sms.sid);
    expect(delivered.attempts).toHaveLength(1);
    expect(delivered.attempts[0]).toMatchObject({ outcome: 'delivered', statusCode: 201 });

    // Without bodyByProtocol.sms: the subject on its own line, then the body.
    const second = await publish(herald, topic, { subject: 'Disk ok', body: 'db-1 has 40% free' });
    const plain = await smsTo(twilio, to, 'Disk ok\ndb-1 has 40% free');
    await deliveryOf(herald, second, 'delivered', sub.id);

    for (const status of ['sent', 'delivered']) {
      const res = await statusCallback(herald, twilio, sms, status);
      expect(res.statusCode).toBe(200);
    }
    const undelivered = await statusCallback(herald, twilio, plain, 'undelivered', { ErrorCode: '30003' });
    expect(undelivered.statusCode).toBe(200);
    const dead = await deliveryOf(herald, second, 'dead', sub.id);
    expect(dead.lastStatusCode).toBe(30003);
    expect(dead.lastError).toContain('30003');
    const [letter] = await deadLettersOf(herald, sub.id);
    expect(letter).toMatchObject({ messageId: second, protocol: 'sms', endpoint: to, topic });
    // The callbacks are applied in order: the earlier 'delivered' one kept the first delivery delivered.
    const still = (await herald.request('GET', `/v1/deliveries/${delivered.id}`)).body;
    expect(still.status).toBe('delivered');
    expect(await subscriptionStatus(herald, sub.id)).toBe('active');
  });

  it('STOP (or a synonym, any case) unsubscribes every SMS subscription of the number; START resubscribes', async () => {
    const topicA = await createTopic(herald, topicName('a'));
    const topicB = await createTopic(herald, topicName('b'));
    const phone = number();
    const other = number();
    const a = await subscribe(herald, topicA, { protocol: 'sms', endpoint: phone });
    const b = await subscribe(herald, topicB, { protocol: 'sms', endpoint: phone });
    const c = await subscribe(herald, topicA, { protocol: 'sms', endpoint: other });
    const statuses = async () =>
      Promise.all([a.id, b.id, c.id].map((id: string) => subscriptionStatus(herald, id)));

    const stop = await inbound(herald, twilio, phone, 'STOP');
    expect(stop.statusCode).toBe(200);
    expect(stop.headers['content-type']).toContain('text/xml');
    expect(stop.body).toContain('<Response');
    expect(await statuses()).toEqual(['unsubscribed', 'unsubscribed', 'active']);

    const afterStop = await publish(herald, topicA, { body: 'only the other number' });
    await smsTo(twilio, other, 'only the other number');
    expect(await settledCounts(herald, afterStop)).toMatchObject({ matched: 1, delivered: 1 });
    expect(twilio.messages.filter((m) => m.to === phone)).toHaveLength(0);

    const start = await inbound(herald, twilio, phone, 'Start');
    expect(start.statusCode).toBe(200);
    expect(start.headers['content-type']).toContain('text/xml');
    expect(await statuses()).toEqual(['active', 'active', 'active']);

    expect((await inbound(herald, twilio, phone, '  unsubscribe ')).statusCode).toBe(200);
    expect(await statuses()).toEqual(['unsubscribed', 'unsubscribed', 'active']);
    expect((await inbound(herald, twilio, phone, 'start')).statusCode).toBe(200);
    expect(await statuses()).toEqual(['active', 'active', 'active']);

    // An ordinary reply changes nothing.
    expect((await inbound(herald, twilio, phone, 'stop sending me the weekend ones')).statusCode).toBe(200);
    expect(await statuses()).toEqual(['active', 'active', 'active']);

    const afterStart = await publish(herald, topicA, { body: 'both numbers again' });
    await smsTo(twilio, phone, 'both numbers again');
    await smsTo(twilio, other, 'both numbers again');
    expect(await settledCounts(herald, afterStart)).toMatchObject({ matched: 2, delivered: 2 });
  });

  it('retries Twilio throttling (429 / 20429) and delivers', async () => {
    const topic = await createTopic(herald, topicName('busy'));
    const to = number();
    const sub = await subscribe(herald, topic, { protocol: 'sms', endpoint: to, deliveryPolicy: FAST });
    twilio.scriptAnswers({ status: 429, code: 20429, message: 'Too Many Requests' });
    const messageId = await publish(herald, topic, { body: 'after a pause' });
    await smsTo(twilio, to, 'after a pause');
    const delivery = await deliveryOf(herald, messageId, 'delivered', sub.id);
    expect(
      delivery.attempts.map((a: { outcome: string; statusCode: number }) => [a.outcome, a.statusCode]),
    ).toEqual([
      ['retry', 429],
      ['delivered', 201],
    ]);
    expect(delivery.attempts[0].error).toContain('20429');
  });

  it('dead-letters an invalid number (21211) after one attempt', async () => {
    const topic = await createTopic(herald, topicName('invalid'));
    const to = number();
    const sub = await subscribe(herald, topic, { protocol: 'sms', endpoint: to, deliveryPolicy: FAST });
    twilio.scriptAnswers({
      status: 400,
      code: 21211,
      message: "The 'To' number is not a valid phone number.",
    });
    const messageId = await publish(herald, topic, { body: 'never arrives' });
    const delivery = await deliveryOf(herald, messageId, 'dead', sub.id);
    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0]).toMatchObject({ outcome: 'failed', statusCode: 400 });
    expect(delivery.attempts[0].error).toContain('21211');
    const [letter] = await deadLettersOf(herald, sub.id);
    expect(letter).toMatchObject({ messageId, attempts: 1, lastStatusCode: 400, protocol: 'sms' });
    expect(JSON.stringify([delivery, letter])).not.toContain(twilio.authToken);
    expect(await subscriptionStatus(herald, sub.id)).toBe('active');
  });

  it('dead-letters a recipient who opted out at Twilio (21610) and unsubscribes it', async () => {
    const topic = await createTopic(herald, topicName('optout'));
    const to = number();
    const sub = await subscribe(herald, topic, { protocol: 'sms', endpoint: to, deliveryPolicy: FAST });
    twilio.scriptAnswers({
      status: 400,
      code: 21610,
      message: 'Attempt to send to unsubscribed recipient',
    });
    const messageId = await publish(herald, topic, { body: 'opted out' });
    const delivery = await deliveryOf(herald, messageId, 'dead', sub.id);
    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0].error).toContain('21610');
    await deadLettersOf(herald, sub.id);
    expect(await subscriptionStatus(herald, sub.id)).toBe('unsubscribed');
    const later = await publish(herald, topic, { body: 'not sent' });
    expect((await settledCounts(herald, later)).matched).toBe(0);
  });
});

describe('SMS: signatures, bad numbers and the per-sender throttle (sqlite)', () => {
  let herald: TestHerald;
  let twilio: TwilioServer;

  beforeAll(async () => {
    twilio = await TwilioServer.start();
    herald = await startHerald('sqlite', twilioEnv(twilio, 1));
    await createTopic(herald, 'ops');
  });
  afterAll(async () => {
    await herald?.close();
    await twilio?.close();
  });

  it('answers a callback with a bad signature 403 and changes nothing', async () => {
    const to = '+33612345620';
    const sub = await subscribe(herald, 'ops', { protocol: 'sms', endpoint: to });
    const other = await subscribe(herald, 'ops', { protocol: 'sms', endpoint: '+33612345621' });
    const messageId = await publish(herald, 'ops', { body: 'signed callbacks only' });
    const sms = await smsTo(twilio, to, 'signed callbacks only');
    const otherSms = await smsTo(twilio, '+33612345621', 'signed callbacks only');
    const delivered = await deliveryOf(herald, messageId, 'delivered', sub.id);
    await deliveryOf(herald, messageId, 'delivered', other.id);

    const wrongToken = randomBytes(16).toString('hex');
    const forged = await statusCallback(
      herald,
      twilio,
      sms,
      'undelivered',
      { ErrorCode: '30003' },
      wrongToken,
    );
    expect(forged.statusCode).toBe(403);
    expect(forged.body).not.toContain(twilio.authToken);
    const unsigned = await fetch(`${herald.url}/v1/providers/twilio/status`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ MessageSid: sms.sid, MessageStatus: 'undelivered' }).toString(),
    });
    expect(unsigned.status).toBe(403);
    const forgedStop = await inbound(herald, twilio, to, 'STOP', wrongToken);
    expect(forgedStop.statusCode).toBe(403);

    // A genuine callback for the other message, applied after anything the forged ones could have started.
    expect(
      (await statusCallback(herald, twilio, otherSms, 'failed', { ErrorCode: '30006' })).statusCode,
    ).toBe(200);
    await deliveryOf(herald, messageId, 'dead', other.id);
    const after = (await herald.request('GET', `/v1/deliveries/${delivered.id}`)).body;
    expect(after.status).toBe('delivered');
    expect((await herald.request('GET', `/v1/dead-letters?subscriptionId=${sub.id}`)).body.items).toEqual([]);
    expect(await subscriptionStatus(herald, sub.id)).toBe('active');
  });

  it('answers HELP with a TwiML message', async () => {
    const res = await inbound(herald, twilio, '+33612345622', 'help');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/xml');
    expect(res.body).toMatch(/<Response><Message>[^<]*STOP[^<]*<\/Message><\/Response>/);
  });

  it.each([
    '4155550100',
    '+1 415 555',
    '+999123456789',
    'tel:+14155550100',
    '+14155550100 ext 2',
    '+1415555010O',
    'sms:+33612345620',
    '++33612345620',
  ])('answers 400 for the number %j and creates nothing', async (endpoint) => {
    const res = await expectEndpointRefused(
      herald,
      'ops',
      'sms',
      endpoint,
      expect.stringMatching(/^must be .*E\.164/),
    );
    expect(res.body.detail).toMatch(/^endpoint must be /);
  });

  it('throttles per sender without spending attempts (1 message per second, 3 recipients)', async () => {
    await createTopic(herald, 'throttled');
    const numbers = ['+33612345601', '+33612345602', '+33612345603'];
    const subs = [];
    for (const endpoint of numbers)
      subs.push(await subscribe(herald, 'throttled', { protocol: 'sms', endpoint }));
    const messageId = await publish(herald, 'throttled', { body: 'one at a time' });
    for (const to of numbers) await smsTo(twilio, to, 'one at a time');
    const sentAt: number[] = [];
    for (const sub of subs) {
      const delivery = await deliveryOf(herald, messageId, 'delivered', sub.id);
      // lastAttempt is the job's own attempt number: a wait that spent an attempt would show here.
      expect(delivery).toMatchObject({ attemptCount: 1, lastAttempt: 1 });
      expect(delivery.attempts).toHaveLength(1);
      expect(delivery.attempts[0]).toMatchObject({ number: 1, outcome: 'delivered' });
      sentAt.push(Date.parse(delivery.attempts[0].at));
    }
    // The bucket holds one token and refills one per second: three sends cannot fit in less than two seconds.
    sentAt.sort((a, b) => a - b);
    expect(sentAt[2] - sentAt[0]).toBeGreaterThanOrEqual(1500);
    expect(await settledCounts(herald, messageId)).toMatchObject({ matched: 3, delivered: 3, failed: 0 });
    const sent = twilio.requests.filter((r) => numbers.includes(r.params.To ?? ''));
    expect(sent.map((r) => r.status)).toEqual([201, 201, 201]);
  });
});

describe('SMS without Twilio configured (sqlite)', () => {
  let herald: TestHerald;

  beforeAll(async () => {
    herald = await startHerald('sqlite');
    await createTopic(herald, 'no-sms');
  });
  afterAll(async () => herald?.close());

  it('answers 400 with a clear message and creates nothing', async () => {
    const res = await herald.request('POST', '/v1/topics/no-sms/subscriptions', {
      protocol: 'sms',
      endpoint: '+14155550100',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.detail).toContain('SMS is disabled');
    expect(res.body.detail).toContain('TWILIO_ACCOUNT_SID');
    const list = await herald.request('GET', '/v1/topics/no-sms/subscriptions');
    expect(list.body.items).toEqual([]);
  });
});
