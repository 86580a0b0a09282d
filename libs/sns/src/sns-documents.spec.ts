import { Catalog } from '@herald/catalog';
import { SecretBox, type MessagePayload, type Subscription } from '@herald/core';
import { createPrivateKey, createVerify, randomBytes, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnsArns } from './arns';
import { createSigningKey } from './signing-certificate';
import { SnsDocuments, snsStringToSign, type SnsDocument } from './sns-documents';
import { SnsKeyring } from './sns-keyring';

const arns = new SnsArns({ region: 'us-east-1', accountId: '000000000000' });
const SUB = 'sub_01JD00000000000000000000AB';
const TOPIC_ARN = 'arn:aws:sns:us-east-1:000000000000:orders';
const SUB_ARN = `${TOPIC_ARN}:${SUB}`;

const sub: Pick<Subscription, 'id' | 'topic' | 'protocol' | 'rawDelivery' | 'unsubscribeToken'> = {
  id: SUB,
  topic: 'orders',
  protocol: 'webhook',
  rawDelivery: false,
  unsubscribeToken: 'unsub/token+1',
};

const message = (overrides: Partial<MessagePayload> = {}): MessagePayload => ({
  id: 'msg_01JD00000000000000000000CD',
  topic: 'orders',
  subject: 'Order placed',
  body: { orderId: 7 },
  attributes: { store: 'berlin', total: 99.5 },
  bodyByProtocol: {},
  publishedAt: '2025-01-02T03:04:05.678Z',
  ...overrides,
});

/** The string sns-validator signs for a document (its key lists, as it checks SignatureVersion 2). */
function validatorStringToSign(doc: Record<string, unknown>): string {
  const keys =
    doc.Type === 'SubscriptionConfirmation'
      ? ['Message', 'MessageId', 'Subject', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'Subject', 'SubscribeURL', 'Timestamp', 'TopicArn', 'Type'];
  return keys
    .filter((k) => k in doc)
    .map((k) => `${k}\n${String(doc[k])}\n`)
    .join('');
}

function verifies(text: string, signature: string, certificate: string): boolean {
  return createVerify('RSA-SHA256').update(text, 'utf8').verify(certificate, signature, 'base64');
}

describe('SNS signing keys', () => {
  it('makes an RSA key with a self-signed X.509 certificate of its public key', () => {
    const key = createSigningKey(new Date('2025-01-01T00:00:00Z'));
    const cert = new X509Certificate(key.certificatePem);
    expect(key.id).toMatch(/^[0-9a-f]{32}$/);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.subject).toContain(key.id);
    expect(cert.checkPrivateKey(createPrivateKey(key.privateKeyPem))).toBe(true);
    expect(new Date(cert.validTo).getUTCFullYear()).toBe(2045);
    expect(createSigningKey().id).not.toBe(key.id);
  });
});

describe('SNS documents, signed by the keyring', () => {
  const box = new SecretBox(randomBytes(32));
  let catalog: Catalog;
  let keyring: SnsKeyring;
  let docs: SnsDocuments;

  beforeAll(async () => {
    catalog = await Catalog.open('memory://');
    keyring = new SnsKeyring(catalog.snsSigningKeys, box);
    docs = new SnsDocuments({ arns, publicBaseUrl: 'https://herald.example.com/', signer: keyring });
  });
  afterAll(() => catalog.close());

  async function certificateOf(doc: SnsDocument): Promise<string> {
    const id = /SimpleNotificationService-([0-9a-f]{32})\.pem$/.exec(doc.SigningCertURL)![1];
    return (await keyring.certificate(id))!;
  }

  it('writes a Notification as SNS does, signed over the fields sns-validator checks', async () => {
    const doc = await docs.notification(message(), sub);
    expect(Object.keys(doc)).toEqual([
      'Type',
      'MessageId',
      'TopicArn',
      'Subject',
      'Message',
      'Timestamp',
      'SignatureVersion',
      'Signature',
      'SigningCertURL',
      'UnsubscribeURL',
      'MessageAttributes',
    ]);
    expect(doc).toMatchObject({
      Type: 'Notification',
      MessageId: 'msg_01JD00000000000000000000CD',
      TopicArn: TOPIC_ARN,
      Subject: 'Order placed',
      Message: '{"orderId":7}',
      Timestamp: '2025-01-02T03:04:05.678Z',
      SignatureVersion: '2',
      UnsubscribeURL: `https://herald.example.com/sns?Action=Unsubscribe&SubscriptionArn=${encodeURIComponent(SUB_ARN)}&Token=unsub%2Ftoken%2B1`,
      MessageAttributes: {
        store: { Type: 'String', Value: 'berlin' },
        total: { Type: 'Number', Value: '99.5' },
      },
    });
    expect(doc.SigningCertURL).toMatch(
      /^https:\/\/herald\.example\.com\/sns\/SimpleNotificationService-[0-9a-f]{32}\.pem$/,
    );
    const certificate = await certificateOf(doc);
    expect(verifies(validatorStringToSign({ ...doc }), doc.Signature, certificate)).toBe(true);
    expect(verifies(validatorStringToSign({ ...doc, Message: 'forged' }), doc.Signature, certificate)).toBe(
      false,
    );
  });

  it('leaves out Subject and MessageAttributes a message does not have, and sends strings as they are', async () => {
    const doc = await docs.notification(message({ subject: null, attributes: {}, body: 'plain' }), sub);
    expect(doc).not.toHaveProperty('Subject');
    expect(doc).not.toHaveProperty('MessageAttributes');
    expect(doc.Message).toBe('plain');
    expect(verifies(validatorStringToSign({ ...doc }), doc.Signature, await certificateOf(doc))).toBe(true);
  });

  it('takes the per-protocol body of the subscription’s channel', async () => {
    const m = message({ bodyByProtocol: { webhook: 'for http', email: 'for email' } });
    expect((await docs.notification(m, sub)).Message).toBe('for http');
    expect((await docs.notification(m, { ...sub, protocol: 'email' })).Message).toBe('for email');
  });

  it('signs a SubscriptionConfirmation with its Token and SubscribeURL', async () => {
    const doc = await docs.control('SubscriptionConfirmation', {
      messageId: 'msg_1',
      sub,
      token: 'tok en',
      timestamp: new Date('2025-01-01T00:00:00Z'),
    });
    expect(doc).toMatchObject({
      Type: 'SubscriptionConfirmation',
      Token: 'tok en',
      TopicArn: TOPIC_ARN,
      SubscribeURL: `https://herald.example.com/sns?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(TOPIC_ARN)}&Token=tok%20en`,
      Timestamp: '2025-01-01T00:00:00.000Z',
      SignatureVersion: '2',
    });
    expect(doc.Message).toContain(`subscribe to the topic ${TOPIC_ARN}`);
    expect(verifies(validatorStringToSign({ ...doc }), doc.Signature, await certificateOf(doc))).toBe(true);
  });

  it('signs an UnsubscribeConfirmation over the string AWS documents, Token included', async () => {
    const doc = await docs.control('UnsubscribeConfirmation', {
      messageId: 'msg_2',
      sub,
      token: 't',
      timestamp: new Date(),
    });
    const text = snsStringToSign(doc);
    expect(text).toBe(
      `Message\n${doc.Message}\nMessageId\nmsg_2\nSubscribeURL\n${doc.SubscribeURL}\nTimestamp\n${doc.Timestamp}\nToken\nt\nTopicArn\n${TOPIC_ARN}\nType\nUnsubscribeConfirmation\n`,
    );
    expect(doc.Message).toContain(`deactivate subscription ${SUB_ARN}`);
    expect(verifies(text, doc.Signature, await certificateOf(doc))).toBe(true);
  });

  it('renders HTTP requests with SNS’s headers, and raw delivery as the message alone', async () => {
    const full = await docs.httpNotification(message(), sub);
    expect(full.contentType).toBe('text/plain; charset=UTF-8');
    expect(full.headers).toEqual({
      'x-amz-sns-message-type': 'Notification',
      'x-amz-sns-message-id': 'msg_01JD00000000000000000000CD',
      'x-amz-sns-topic-arn': TOPIC_ARN,
      'x-amz-sns-subscription-arn': SUB_ARN,
      'user-agent': 'Amazon Simple Notification Service Agent',
    });
    expect(JSON.parse(full.body)).toMatchObject({ Type: 'Notification', Message: '{"orderId":7}' });
    const raw = await docs.httpNotification(message(), { ...sub, rawDelivery: true });
    expect(raw.body).toBe('{"orderId":7}');
    expect(raw.headers['x-amz-sns-rawdelivery']).toBe('true');
    const confirmation = await docs.httpControl('SubscriptionConfirmation', {
      messageId: 'm',
      sub,
      token: 't',
      timestamp: new Date(),
    });
    expect(confirmation.headers).not.toHaveProperty('x-amz-sns-subscription-arn');
    expect(confirmation.headers['x-amz-sns-message-type']).toBe('SubscriptionConfirmation');
  });

  it('gives Lambda the SNS event record', async () => {
    const event = (await docs.lambdaEvent(message({ subject: null }), {
      ...sub,
      protocol: 'function',
    })) as { Records: Array<Record<string, unknown> & { Sns: Record<string, unknown> }> };
    expect(event.Records).toHaveLength(1);
    expect(event.Records[0]).toMatchObject({
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      EventSubscriptionArn: SUB_ARN,
    });
    expect(event.Records[0].Sns).toMatchObject({
      Type: 'Notification',
      Subject: null,
      MessageAttributes: expect.any(Object),
    });
    expect(event.Records[0].Sns.SigningCertUrl).toMatch(/\.pem$/);
    expect(event.Records[0].Sns.UnsubscribeUrl).toContain('Action=Unsubscribe');
  });

  it('rotates: the new key signs here at once, old certificates stay served', async () => {
    const before = await keyring.currentKeyId();
    const old = await docs.notification(message(), sub);
    const rotated = await keyring.rotate();
    expect(rotated.id).not.toBe(before);
    const fresh = await docs.notification(message(), sub);
    expect(fresh.SigningCertURL).toContain(rotated.id);
    expect(verifies(validatorStringToSign({ ...old }), old.Signature, await certificateOf(old))).toBe(true);
    expect(verifies(validatorStringToSign({ ...fresh }), fresh.Signature, await certificateOf(fresh))).toBe(
      true,
    );
    expect(verifies(validatorStringToSign({ ...fresh }), fresh.Signature, await certificateOf(old))).toBe(
      false,
    );
    expect(await keyring.certificate('0'.repeat(32))).toBeNull();
    expect(await keyring.certificate('../etc')).toBeNull();
  });

  it('another process finds the newest key once its own is older than the refresh time', async () => {
    const other = new SnsKeyring(catalog.snsSigningKeys, box, 0);
    const rotated = await keyring.rotate();
    expect(await other.currentKeyId()).toBe(rotated.id);
  });

  it('refuses to sign with a key sealed under another HERALD_SECRET_KEY', async () => {
    const stranger = new SnsKeyring(catalog.snsSigningKeys, new SecretBox(randomBytes(32)));
    await expect(stranger.sign('x')).rejects.toThrow(/HERALD_SECRET_KEY/);
  });
});
