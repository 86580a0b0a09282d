import {
  ConfirmSubscriptionCommand,
  CreateTopicCommand,
  DeleteTopicCommand,
  GetSubscriptionAttributesCommand,
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
  ListSubscriptionsCommand,
  ListTagsForResourceCommand,
  ListTopicsCommand,
  PublishBatchCommand,
  PublishCommand,
  SetSubscriptionAttributesCommand,
  SetTopicAttributesCommand,
  SubscribeCommand,
  TagResourceCommand,
  UnsubscribeCommand,
  UntagResourceCommand,
  type SNSClient,
} from '@aws-sdk/client-sns';
import { Catalog } from '@herald/catalog';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startHerald, type CatalogKind, type TestHerald } from '../support/herald';
import { publish, settledCounts, subscribe } from '../support/herald-api';
import { LambdaServer } from '../support/lambda-server';
import { SmtpSink } from '../support/smtp-sink';
import {
  awsKey,
  snsClient,
  snsFailure,
  validateWithSnsValidator,
  verifyAsAwsDocuments,
  type AwsCredentials,
} from '../support/sns';
import { createTestCa, httpsGet, TlsProxy, trustTestCa } from '../support/tls';
import { TwilioServer } from '../support/twilio-server';
import { WebhookReceiver, type ReceivedRequest } from '../support/webhook-receiver';

/** sns-validator fetches certificates only from hosts the receiver names: Herald's TLS endpoint here. */
const HERALD_HOST = /^127\.0\.0\.1:\d+$/;
const SMS_SENDER = '+15005550006';
const FAST_RETRIES = JSON.stringify({
  healthyRetryPolicy: { minDelayTarget: 0, maxDelayTarget: 1, numRetries: 3 },
});

describe.each<CatalogKind>(['sqlite', 'postgres'])(
  'the SNS API through the stock AWS SDK (%s catalog)',
  (kind) => {
    const ca = createTestCa();
    let proxy: TlsProxy;
    let herald: TestHerald;
    let receiver: WebhookReceiver;
    let twilio: TwilioServer;
    let lambda: LambdaServer;
    let sink: SmtpSink;
    let admin: SNSClient;
    let creds: Record<
      'admin' | 'publisher' | 'subscriber' | 'reader' | 'limited',
      AwsCredentials & { id: string }
    >;
    let n = 0;
    const unique = (what: string) => `${what}-${kind}-${++n}`;
    const client = (who: keyof typeof creds) => snsClient(`${herald.url}/sns`, creds[who]);

    beforeAll(async () => {
      trustTestCa(ca);
      proxy = await new TlsProxy(ca).start();
      receiver = await new WebhookReceiver().start();
      twilio = await TwilioServer.start();
      lambda = await new LambdaServer().start();
      sink = await SmtpSink.start();
      herald = await startHerald(kind, {
        PUBLIC_BASE_URL: proxy.url,
        TWILIO_ACCOUNT_SID: twilio.accountSid,
        TWILIO_AUTH_TOKEN: twilio.authToken,
        TWILIO_FROM: SMS_SENDER,
        TWILIO_API_BASE_URL: twilio.url,
        TWILIO_MESSAGES_PER_SECOND: '1000',
        AWS_ACCESS_KEY_ID: lambda.accessKeyId,
        AWS_SECRET_ACCESS_KEY: lambda.secretAccessKey,
        LAMBDA_ENDPOINT_URL: lambda.url,
        SMTP_URL: sink.url(),
        EMAIL_FROM: 'Herald <herald@example.com>',
      });
      proxy.target = herald.url;
      creds = {
        admin: await awsKey(herald, ['admin']),
        publisher: await awsKey(herald, ['publish']),
        subscriber: await awsKey(herald, ['subscribe', 'read']),
        reader: await awsKey(herald, ['read']),
        limited: await awsKey(herald, ['publish', 'subscribe', 'read'], [`limited-${kind}`]),
      };
      admin = client('admin');
    });
    afterAll(async () => {
      await herald?.close();
      await Promise.all([proxy?.stop(), receiver?.stop(), twilio?.close(), lambda?.stop(), sink?.stop()]);
    });

    /** The requests the receiver got on `path`, waiting until there are `count`. */
    async function requestsTo(path: string, count: number): Promise<ReceivedRequest[]> {
      return eventually(async () => {
        const got = receiver.requests.filter((r) => r.path === path);
        return got.length >= count ? got : undefined;
      }, `${count} request(s) to ${path}`);
    }

    /** The SNS document of a request, after sns-validator has verified it. */
    async function validated(req: ReceivedRequest): Promise<Record<string, string>> {
      const doc = JSON.parse(req.body) as Record<string, string>;
      await expect(validateWithSnsValidator(req.body, HERALD_HOST)).resolves.toMatchObject({
        Type: doc.Type,
      });
      return doc;
    }

    async function createTopic(name: string, extra: Record<string, unknown> = {}): Promise<string> {
      const { TopicArn } = await admin.send(new CreateTopicCommand({ Name: name, ...extra }));
      expect(TopicArn).toBe(`arn:aws:sns:us-east-1:000000000000:${name}`);
      return TopicArn!;
    }

    /** Subscribes the receiver at `path`, confirms through SubscribeURL as an SNS receiver does; the ARN. */
    async function confirmedHttp(topicArn: string, path: string, attributes?: Record<string, string>) {
      const sub = await admin.send(
        new SubscribeCommand({
          TopicArn: topicArn,
          Protocol: 'http',
          Endpoint: receiver.urlFor('127.0.0.1', path),
          Attributes: attributes,
        }),
      );
      expect(sub.SubscriptionArn).toBe('pending confirmation');
      const [req] = await requestsTo(path, 1);
      expect(req.headers['x-amz-sns-message-type']).toBe('SubscriptionConfirmation');
      const doc = await validated(req);
      expect(doc).toMatchObject({
        Type: 'SubscriptionConfirmation',
        TopicArn: topicArn,
        SignatureVersion: '2',
      });
      const confirm = await httpsGet(doc.SubscribeURL);
      expect(confirm.status).toBe(200);
      const arn = /<SubscriptionArn>([^<]+)<\/SubscriptionArn>/.exec(confirm.body)?.[1];
      expect(confirm.body).toContain(
        '<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">',
      );
      expect(arn).toMatch(new RegExp(`^${topicArn}:sub_[0-9A-Z]{26}$`));
      return arn!;
    }

    it('runs an application’s SNS code path unchanged: topic, HTTP subscription, confirmation, filtered publish', async () => {
      const name = unique('orders');
      const topicArn = await createTopic(name, {
        Attributes: { DisplayName: 'Orders' },
        Tags: [{ Key: 'team', Value: 'checkout' }],
      });
      const path = `/${name}/big`;
      const subArn = await confirmedHttp(topicArn, path, {
        FilterPolicy: JSON.stringify({ store: ['berlin'], total: [{ numeric: ['>=', 100] }] }),
        DeliveryPolicy: FAST_RETRIES,
      });
      const attrs = await admin.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: subArn }));
      expect(attrs.Attributes).toMatchObject({
        SubscriptionArn: subArn,
        TopicArn: topicArn,
        Protocol: 'http',
        PendingConfirmation: 'false',
        FilterPolicyScope: 'MessageAttributes',
        RawMessageDelivery: 'false',
      });

      const skipped = await admin.send(
        new PublishCommand({
          TopicArn: topicArn,
          Message: 'small order',
          MessageAttributes: {
            store: { DataType: 'String', StringValue: 'berlin' },
            total: { DataType: 'Number', StringValue: '20' },
          },
        }),
      );
      const sent = await admin.send(
        new PublishCommand({
          TopicArn: topicArn,
          Subject: 'Order placed',
          Message: JSON.stringify({ orderId: 7 }),
          MessageAttributes: {
            store: { DataType: 'String', StringValue: 'berlin' },
            total: { DataType: 'Number', StringValue: '120.50' },
            tags: { DataType: 'String.Array', StringValue: '["vip","new"]' },
          },
        }),
      );
      expect(sent.MessageId).toMatch(/^msg_/);
      const [, req] = await requestsTo(path, 2);
      expect(req.headers).toMatchObject({
        'content-type': 'text/plain; charset=UTF-8',
        'x-amz-sns-message-type': 'Notification',
        'x-amz-sns-message-id': sent.MessageId,
        'x-amz-sns-topic-arn': topicArn,
        'x-amz-sns-subscription-arn': subArn,
        'user-agent': 'Amazon Simple Notification Service Agent',
      });
      const doc = await validated(req);
      expect(doc).toMatchObject({
        Type: 'Notification',
        MessageId: sent.MessageId,
        TopicArn: topicArn,
        Subject: 'Order placed',
        Message: '{"orderId":7}',
        SignatureVersion: '2',
        MessageAttributes: {
          store: { Type: 'String', Value: 'berlin' },
          total: { Type: 'Number', Value: '120.5' },
          tags: { Type: 'String.Array', Value: '["vip","new"]' },
        },
      });
      expect(doc.SigningCertURL).toMatch(
        new RegExp(`^${proxy.url}/sns/SimpleNotificationService-[0-9a-f]{32}\\.pem$`),
      );
      expect(doc.UnsubscribeURL.startsWith(`${proxy.url}/sns?Action=Unsubscribe&SubscriptionArn=`)).toBe(
        true,
      );
      expect((await settledCounts(herald, skipped.MessageId!)).filteredOut).toBe(1);
      expect(receiver.requests.filter((r) => r.path === path)).toHaveLength(2);
    });

    it('creates topics idempotently, lists them page by page, and keeps their attributes and tags', async () => {
      const name = unique('catalog');
      const arn = await createTopic(name, { Attributes: { DisplayName: 'Catalog' } });
      expect(await createTopic(name)).toBe(arn);
      expect(await createTopic(name, { Attributes: { DisplayName: 'Catalog' } })).toBe(arn);
      const differs = await snsFailure(
        admin.send(new CreateTopicCommand({ Name: name, Attributes: { DisplayName: 'Other' } })),
      );
      expect(differs.name).toBe('InvalidParameterException');
      expect(differs.message).toMatch(/already exists with different attributes/);

      await admin.send(
        new SetTopicAttributesCommand({
          TopicArn: arn,
          AttributeName: 'DeliveryPolicy',
          AttributeValue: JSON.stringify({
            http: { defaultHealthyRetryPolicy: { numRetries: 4, minDelayTarget: 2, maxDelayTarget: 30 } },
          }),
        }),
      );
      await admin.send(
        new SetTopicAttributesCommand({
          TopicArn: arn,
          AttributeName: 'DisplayName',
          AttributeValue: 'Product catalog',
        }),
      );
      const got = await admin.send(new GetTopicAttributesCommand({ TopicArn: arn }));
      expect(got.Attributes).toMatchObject({
        TopicArn: arn,
        Owner: '000000000000',
        DisplayName: 'Product catalog',
        SubscriptionsConfirmed: '0',
        SubscriptionsPending: '0',
        SignatureVersion: '2',
      });
      expect(JSON.parse(got.Attributes!.DeliveryPolicy)).toEqual({
        http: {
          defaultHealthyRetryPolicy: {
            numRetries: 4,
            minDelayTarget: 2,
            maxDelayTarget: 30,
            backoffFunction: 'exponential',
          },
        },
      });
      // The same topic through /v1: the policy in Herald's words, and its ARN.
      const v1 = await herald.request('GET', `/v1/topics/${name}`);
      expect(v1.body).toMatchObject({
        arn,
        displayName: 'Product catalog',
        deliveryPolicy: { maxAttempts: 5, minDelayMs: 2000, maxDelayMs: 30_000 },
      });

      await admin.send(
        new TagResourceCommand({
          ResourceArn: arn,
          Tags: [
            { Key: 'env', Value: 'prod' },
            { Key: 'team', Value: 'search' },
          ],
        }),
      );
      await admin.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: ['team'] }));
      expect((await admin.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).Tags).toEqual([
        { Key: 'env', Value: 'prod' },
      ]);
      const tooMany = await snsFailure(
        admin.send(
          new TagResourceCommand({
            ResourceArn: arn,
            Tags: Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })),
          }),
        ),
      );
      expect(tooMany.name).toBe('TagLimitExceededException');
      expect((await admin.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).Tags).toHaveLength(1);
      const gone = await snsFailure(
        admin.send(new ListTagsForResourceCommand({ ResourceArn: `${arn}-nope` })),
      );
      expect(gone.name).toBe('ResourceNotFoundException');

      // 101 topics: the first page holds 100 and a NextToken that reaches the rest.
      for (let i = 0; i < 101; i++)
        await herald.request('POST', '/v1/topics', { name: `page-${kind}-${String(i).padStart(3, '0')}` });
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await admin.send(new ListTopicsCommand({ NextToken: token }));
        expect(page.Topics!.length).toBeLessThanOrEqual(100);
        seen.push(...page.Topics!.map((t) => t.TopicArn!));
        token = page.NextToken;
        pages++;
      } while (token);
      expect(pages).toBeGreaterThanOrEqual(2);
      expect(seen).toContain(arn);
      expect(seen.filter((a) => a.includes(`:page-${kind}-`))).toHaveLength(101);

      await admin.send(new DeleteTopicCommand({ TopicArn: arn }));
      await admin.send(new DeleteTopicCommand({ TopicArn: arn }));
      expect((await snsFailure(admin.send(new GetTopicAttributesCommand({ TopicArn: arn })))).name).toBe(
        'NotFoundException',
      );
    });

    it('delivers raw messages, MessageStructure=json bodies and body-scope filters as SNS documents them', async () => {
      const name = unique('structured');
      const topicArn = await createTopic(name);
      const [full, raw, body] = [`/${name}/full`, `/${name}/raw`, `/${name}/body`];
      await confirmedHttp(topicArn, full);
      const rawArn = await confirmedHttp(topicArn, raw);
      await admin.send(
        new SetSubscriptionAttributesCommand({
          SubscriptionArn: rawArn,
          AttributeName: 'RawMessageDelivery',
          AttributeValue: 'true',
        }),
      );
      await confirmedHttp(topicArn, body, {
        FilterPolicyScope: 'MessageBody',
        FilterPolicy: JSON.stringify({ order: { status: ['PAID'] } }),
      });

      const structured = await admin.send(
        new PublishCommand({
          TopicArn: topicArn,
          MessageStructure: 'json',
          Message: JSON.stringify({
            default: '{"order":{"status":"PAID"}}',
            http: 'for http receivers',
            sms: 'for phones',
          }),
        }),
      );
      const [, fullReq] = await requestsTo(full, 2);
      expect((await validated(fullReq)).Message).toBe('for http receivers');
      const [, rawReq] = await requestsTo(raw, 2);
      expect(rawReq.body).toBe('for http receivers');
      expect(rawReq.headers).toMatchObject({
        'x-amz-sns-rawdelivery': 'true',
        'x-amz-sns-message-id': structured.MessageId,
      });
      // Filters read the default body, not the per-protocol one.
      const [, bodyReq] = await requestsTo(body, 2);
      expect((await validated(bodyReq)).Message).toBe('for http receivers');

      const unpaid = await admin.send(
        new PublishCommand({ TopicArn: topicArn, Message: '{"order":{"status":"OPEN"}}' }),
      );
      expect((await settledCounts(herald, unpaid.MessageId!)).filteredOut).toBe(1);
      expect(receiver.requests.filter((r) => r.path === body)).toHaveLength(2);

      const refused = await snsFailure(
        admin.send(
          new PublishCommand({
            TopicArn: topicArn,
            MessageStructure: 'json',
            Message: '{"http":"no default"}',
          }),
        ),
      );
      expect(refused.name).toBe('InvalidParameterException');
      expect(refused.message).toMatch(/No default entry/);
    });

    it('publishes batches with per-entry results', async () => {
      const name = unique('batch');
      const topicArn = await createTopic(name);
      const path = `/${name}/all`;
      await confirmedHttp(topicArn, path);
      const result = await admin.send(
        new PublishBatchCommand({
          TopicArn: topicArn,
          PublishBatchRequestEntries: [
            { Id: 'one', Message: 'first' },
            {
              Id: 'two',
              Message: 'second',
              MessageAttributes: { blob: { DataType: 'Binary', BinaryValue: Buffer.from('x') } },
            },
            { Id: 'three', Message: 'third', Subject: 'Third' },
          ],
        }),
      );
      expect(result.Successful!.map((s) => s.Id)).toEqual(['one', 'three']);
      expect(result.Failed).toEqual([
        expect.objectContaining({
          Id: 'two',
          Code: 'InvalidParameter',
          SenderFault: true,
          Message: expect.stringMatching(/Binary/),
        }),
      ]);
      const got = await requestsTo(path, 3);
      const messages = await Promise.all(got.slice(1).map(validated));
      expect(messages.map((m) => m.Message).sort()).toEqual(['first', 'third']);

      const ids = await snsFailure(
        admin.send(
          new PublishBatchCommand({
            TopicArn: topicArn,
            PublishBatchRequestEntries: [
              { Id: 'a', Message: 'x' },
              { Id: 'a', Message: 'y' },
            ],
          }),
        ),
      );
      expect(ids.name).toBe('BatchEntryIdsNotDistinctException');
      const many = await snsFailure(
        admin.send(
          new PublishBatchCommand({
            TopicArn: topicArn,
            PublishBatchRequestEntries: Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, Message: 'x' })),
          }),
        ),
      );
      expect(many.name).toBe('TooManyEntriesInBatchRequestException');
    });

    it('unsubscribes with an UnsubscribeConfirmation signed as AWS documents it, whose SubscribeURL restores the subscription', async () => {
      const name = unique('leaving');
      const topicArn = await createTopic(name);
      const path = `/${name}/a`;
      const subArn = await confirmedHttp(topicArn, path);
      await admin.send(new UnsubscribeCommand({ SubscriptionArn: subArn }));
      const [, req] = await requestsTo(path, 2);
      expect(req.headers).toMatchObject({
        'x-amz-sns-message-type': 'UnsubscribeConfirmation',
        'x-amz-sns-subscription-arn': subArn,
      });
      const doc = JSON.parse(req.body) as Record<string, string>;
      expect(doc).toMatchObject({
        Type: 'UnsubscribeConfirmation',
        TopicArn: topicArn,
        SignatureVersion: '2',
      });
      expect(await verifyAsAwsDocuments(doc)).toBe(true);
      expect(await verifyAsAwsDocuments({ ...doc, Token: 'forged' })).toBe(false);

      const listed = await admin.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }));
      expect(listed.Subscriptions).toEqual([]);
      expect(
        (await snsFailure(admin.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: subArn }))))
          .name,
      ).toBe('NotFoundException');
      const quiet = await admin.send(new PublishCommand({ TopicArn: topicArn, Message: 'nobody listens' }));
      expect((await settledCounts(herald, quiet.MessageId!)).matched).toBe(0);

      const restore = await httpsGet(doc.SubscribeURL);
      expect(restore.status).toBe(200);
      expect(restore.body).toContain(`<SubscriptionArn>${subArn}</SubscriptionArn>`);
      await admin.send(new PublishCommand({ TopicArn: topicArn, Message: 'welcome back' }));
      const [, , again] = await requestsTo(path, 3);
      expect((await validated(again)).Message).toBe('welcome back');

      // A receiver's GET of the UnsubscribeURL of a notification unsubscribes too.
      const gone = await httpsGet(JSON.parse(again.body).UnsubscribeURL);
      expect(gone.status).toBe(200);
      expect(gone.body).toContain('<UnsubscribeResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">');
      const [, , , second] = await requestsTo(path, 4);
      expect(JSON.parse(second.body).Type).toBe('UnsubscribeConfirmation');
      const forged = await httpsGet(
        JSON.parse(again.body).UnsubscribeURL.replace(/Token=[^&]+/, 'Token=forged'),
      );
      expect(forged.status).toBe(400);
      expect(forged.body).toContain('<Code>InvalidParameter</Code>');

      // Subscribing the endpoint again makes the same subscription pending, with a new confirmation.
      const again2 = await admin.send(
        new SubscribeCommand({
          TopicArn: topicArn,
          Protocol: 'http',
          Endpoint: receiver.urlFor('127.0.0.1', path),
          ReturnSubscriptionArn: true,
        }),
      );
      expect(again2.SubscriptionArn).toBe(subArn);
      const [, , , , reconfirm] = await requestsTo(path, 5);
      expect((await validated(reconfirm)).Type).toBe('SubscriptionConfirmation');
      const status = await herald.request('GET', `/v1/subscriptions/${subArn.split(':').at(-1)}`);
      expect(status.body).toMatchObject({ status: 'pending', format: 'sns', arn: subArn });
    });

    it('confirms with ConfirmSubscription and the token, and lists subscriptions page by page', async () => {
      const name = unique('listing');
      const topicArn = await createTopic(name);
      const path = `/${name}/c`;
      await admin.send(
        new SubscribeCommand({
          TopicArn: topicArn,
          Protocol: 'http',
          Endpoint: receiver.urlFor('127.0.0.1', path),
          ReturnSubscriptionArn: true,
        }),
      );
      const [req] = await requestsTo(path, 1);
      const token = JSON.parse(req.body).Token as string;
      const wrong = await snsFailure(
        client('subscriber').send(new ConfirmSubscriptionCommand({ TopicArn: topicArn, Token: 'nope' })),
      );
      expect(wrong.name).toBe('InvalidParameterException');
      const confirmed = await client('subscriber').send(
        new ConfirmSubscriptionCommand({ TopicArn: topicArn, Token: token }),
      );
      expect(confirmed.SubscriptionArn).toMatch(new RegExp(`^${topicArn}:sub_`));

      const sms = await client('subscriber').send(
        new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sms', Endpoint: '+1 (415) 555-0101' }),
      );
      expect(sms.SubscriptionArn).toMatch(/:sub_/);
      const byTopic = await client('reader').send(
        new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }),
      );
      expect(byTopic.Subscriptions!.map((s) => [s.Protocol, s.Endpoint, s.SubscriptionArn])).toEqual([
        ['http', receiver.urlFor('127.0.0.1', path), confirmed.SubscriptionArn],
        ['sms', '+14155550101', sms.SubscriptionArn],
      ]);
      const all: string[] = [];
      let token2: string | undefined;
      do {
        const page = await client('reader').send(new ListSubscriptionsCommand({ NextToken: token2 }));
        all.push(...page.Subscriptions!.map((s) => s.SubscriptionArn!));
        token2 = page.NextToken;
      } while (token2);
      expect(all).toEqual(expect.arrayContaining([confirmed.SubscriptionArn, sms.SubscriptionArn]));
    });

    it('texts a phone number directly, and fans out to SMS, email-json and Lambda subscriptions', async () => {
      const direct = await client('publisher').send(
        new PublishCommand({ PhoneNumber: '+14155550102', Message: 'Your code is 123456' }),
      );
      expect(direct.MessageId).toMatch(/^msg_/);
      await eventually(
        async () => twilio.messages.find((m) => m.to === '+14155550102' && m.body === 'Your code is 123456'),
        'the direct SMS',
      );
      const badNumber = await snsFailure(
        client('publisher').send(new PublishCommand({ PhoneNumber: '12345', Message: 'x' })),
      );
      expect(badNumber.name).toBe('InvalidParameterException');
      expect(badNumber.message).toMatch(/PhoneNumber/);

      const name = unique('channels');
      const topicArn = await createTopic(name, { Attributes: { DisplayName: 'Channels' } });
      const email = `json.${kind}@example.com`;
      await admin.send(
        new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sms', Endpoint: '+14155550103' }),
      );
      await admin.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'email-json', Endpoint: email }));
      const fn = 'arn:aws:lambda:us-east-1:123456789012:function:on-order';
      const lambdaSub = await admin.send(
        new SubscribeCommand({ TopicArn: topicArn, Protocol: 'lambda', Endpoint: fn }),
      );
      expect(lambdaSub.SubscriptionArn).toMatch(/:sub_/);

      const confirmation = await eventually(
        async () => sink.messages.find((m) => m.envelope.to.includes(email)),
        'the email-json confirmation',
      );
      const confirmDoc = JSON.parse(confirmation.parsed.text!) as Record<string, string>;
      expect(confirmDoc.Type).toBe('SubscriptionConfirmation');
      await validateWithSnsValidator(confirmation.parsed.text!, HERALD_HOST);
      expect((await httpsGet(confirmDoc.SubscribeURL)).status).toBe(200);

      const sent = await admin.send(
        new PublishCommand({
          TopicArn: topicArn,
          Subject: 'Shipped',
          MessageStructure: 'json',
          Message: JSON.stringify({
            default: 'order shipped',
            sms: 'Order shipped!',
            'email-json': 'mail body',
            lambda: 'for the function',
          }),
          MessageAttributes: { carrier: { DataType: 'String', StringValue: 'DHL' } },
        }),
      );
      await eventually(
        async () => twilio.messages.find((m) => m.to === '+14155550103' && m.body === 'Order shipped!'),
        'the SMS',
      );
      const mail = await eventually(
        async () =>
          sink.messages.find(
            (m) => m.envelope.to.includes(email) && m.parsed.text?.includes('"Notification"'),
          ),
        'the email-json notification',
      );
      const mailDoc = await validateWithSnsValidator(mail.parsed.text!, HERALD_HOST);
      expect(mailDoc).toMatchObject({ MessageId: sent.MessageId, Message: 'mail body', Subject: 'Shipped' });
      const invocation = await eventually(
        async () => lambda.invocations.find((i) => i.payload.includes(sent.MessageId!)),
        'the Lambda invocation',
      );
      const event = JSON.parse(invocation.payload);
      expect(event.Records[0]).toMatchObject({
        EventSource: 'aws:sns',
        EventSubscriptionArn: lambdaSub.SubscriptionArn,
        Sns: {
          Type: 'Notification',
          MessageId: sent.MessageId,
          Message: 'for the function',
          Subject: 'Shipped',
          MessageAttributes: { carrier: { Type: 'String', Value: 'DHL' } },
        },
      });
      await validateWithSnsValidator(event.Records[0].Sns, HERALD_HOST);
    });

    it('mixes /v1 and SNS: each publishes to the other’s topics, each receiver gets its own format', async () => {
      const v1Topic = unique('v1-made');
      expect((await herald.request('POST', '/v1/topics', { name: v1Topic })).status).toBe(201);
      const heraldReceiver = await new WebhookReceiver().start();
      try {
        const v1Sub = await subscribe(herald, v1Topic, {
          protocol: 'webhook',
          endpoint: heraldReceiver.url,
          skipConfirmation: true,
        });
        expect(v1Sub).toMatchObject({
          format: 'herald',
          arn: `arn:aws:sns:us-east-1:000000000000:${v1Topic}:${v1Sub.id}`,
        });
        const snsPath = `/${v1Topic}/sns`;
        await confirmedHttp(`arn:aws:sns:us-east-1:000000000000:${v1Topic}`, snsPath);
        const viaSns = await client('publisher').send(
          new PublishCommand({
            TopicArn: `arn:aws:sns:us-east-1:000000000000:${v1Topic}`,
            Message: 'hello both',
            MessageAttributes: { n: { DataType: 'Number', StringValue: '3' } },
          }),
        );
        const [standard] = await heraldReceiver.waitFor(1);
        const envelope = new Webhook(v1Sub.secret).verify(standard.body, standard.headers) as Record<
          string,
          unknown
        >;
        expect(envelope).toMatchObject({
          type: 'Notification',
          messageId: viaSns.MessageId,
          body: 'hello both',
          attributes: { n: 3 },
        });
        const [, snsReq] = await requestsTo(snsPath, 2);
        expect((await validated(snsReq)).MessageId).toBe(viaSns.MessageId);

        const snsTopic = unique('sns-made');
        const snsTopicArn = await createTopic(snsTopic);
        const path = `/${snsTopic}/a`;
        await confirmedHttp(snsTopicArn, path);
        const viaV1 = await publish(herald, snsTopic, {
          subject: 'From v1',
          body: { ok: true },
          attributes: { flag: true, list: [1, 2] },
        });
        const [, req] = await requestsTo(path, 2);
        expect(await validated(req)).toMatchObject({
          MessageId: viaV1,
          Subject: 'From v1',
          Message: '{"ok":true}',
          MessageAttributes: {
            flag: { Type: 'String', Value: 'true' },
            list: { Type: 'String.Array', Value: '[1,2]' },
          },
        });

        // The format is an attribute of any subscription, through /v1 too.
        const patched = await herald.request('PATCH', `/v1/subscriptions/${v1Sub.id}`, { format: 'sns' });
        expect(patched.body.format).toBe('sns');
        await publish(herald, v1Topic, { body: 'now as SNS' });
        const [, asSns] = await heraldReceiver.waitFor(2);
        expect((await validated(asSns)).Message).toBe('now as SNS');
        const sms = await herald.request('POST', `/v1/topics/${v1Topic}/subscriptions`, {
          protocol: 'sms',
          endpoint: '+14155550104',
          format: 'sns',
        });
        expect(sms.status).toBe(400);
        expect(sms.body.errors).toEqual([
          { field: 'format', message: expect.stringContaining('webhook, email and Lambda') },
        ]);
      } finally {
        await heraldReceiver.stop();
      }
    });

    it('rotates the signing key: new messages carry the new certificate, the old one stays served', async () => {
      const name = unique('rotation');
      const topicArn = await createTopic(name);
      const path = `/${name}/a`;
      await confirmedHttp(topicArn, path);
      const [first] = await requestsTo(path, 1);
      const oldCert = JSON.parse(first.body).SigningCertURL as string;
      const rotated = await herald.request('POST', '/v1/sns/signing-keys');
      expect(rotated.status).toBe(201);
      expect(rotated.body.signingCertUrl).toBe(
        `${proxy.url}/sns/SimpleNotificationService-${rotated.body.id}.pem`,
      );
      await admin.send(new PublishCommand({ TopicArn: topicArn, Message: 'after rotation' }));
      const [, after] = await requestsTo(path, 2);
      const doc = await validated(after);
      expect(doc.SigningCertURL).toBe(rotated.body.signingCertUrl);
      expect((await httpsGet(oldCert)).status).toBe(200);
      expect(
        (await httpsGet(`${proxy.url}/sns/SimpleNotificationService-${'0'.repeat(32)}.pem`)).status,
      ).toBe(404);
    });

    it('answers the SDK at / too, and leaves / without an Action alone', async () => {
      const root = snsClient(herald.url, creds.reader);
      const listed = await root.send(new ListTopicsCommand({}));
      expect(listed.Topics).toBeDefined();
      const bare = await fetch(`${herald.url}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'Name=x',
      });
      expect(bare.status).toBe(404);
      expect(bare.headers.get('content-type')).toContain('application/problem+json');
    });

    it('refuses what it must with SNS’s errors, and changes nothing', async () => {
      const name = unique('guarded');
      const topicArn = await createTopic(name);
      const missing = `arn:aws:sns:us-east-1:000000000000:${unique('missing')}`;

      const unknownTopic = await snsFailure(
        client('publisher').send(new PublishCommand({ TopicArn: missing, Message: 'x' })),
      );
      expect(unknownTopic.name).toBe('NotFoundException');
      expect(unknownTopic.$metadata.httpStatusCode).toBe(404);

      const badSecret = await snsFailure(
        snsClient(`${herald.url}/sns`, {
          accessKeyId: creds.admin.accessKeyId,
          secretAccessKey: `${creds.admin.secretAccessKey}x`,
        }).send(new CreateTopicCommand({ Name: `${name}-x` })),
      );
      expect(badSecret.name).toBe('SignatureDoesNotMatch');
      expect(badSecret.$metadata.httpStatusCode).toBe(403);
      const unknownKey = await snsFailure(
        snsClient(`${herald.url}/sns`, { accessKeyId: 'HKIAAAAAAAAAAAAAAAAA', secretAccessKey: 'x' }).send(
          new ListTopicsCommand({}),
        ),
      );
      expect(unknownKey.name).toBe('InvalidClientTokenId');
      const wrongRegion = await snsFailure(
        snsClient(`${herald.url}/sns`, creds.admin, 'eu-west-1').send(
          new CreateTopicCommand({ Name: `${name}-y` }),
        ),
      );
      expect(wrongRegion.name).toBe('SignatureDoesNotMatch');
      expect(wrongRegion.message).toMatch(/region/);
      const unsigned = await fetch(`${herald.url}/sns`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'Action=ListTopics',
      });
      expect(unsigned.status).toBe(403);
      expect(await unsigned.text()).toContain('<Code>MissingAuthenticationToken</Code>');

      const readerCreates = await snsFailure(
        client('reader').send(new CreateTopicCommand({ Name: `${name}-z` })),
      );
      expect(readerCreates.name).toBe('AuthorizationErrorException');
      const readerPublishes = await snsFailure(
        client('reader').send(new PublishCommand({ TopicArn: topicArn, Message: 'x' })),
      );
      expect(readerPublishes.name).toBe('AuthorizationErrorException');
      const publisherSubscribes = await snsFailure(
        client('publisher').send(
          new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sms', Endpoint: '+14155550105' }),
        ),
      );
      expect(publisherSubscribes.name).toBe('AuthorizationErrorException');

      const limitedTopic = `limited-${kind}`;
      const limitedArn = await createTopic(limitedTopic);
      expect(
        (await client('limited').send(new PublishCommand({ TopicArn: limitedArn, Message: 'mine' })))
          .MessageId,
      ).toMatch(/^msg_/);
      const elsewhere = await snsFailure(
        client('limited').send(new PublishCommand({ TopicArn: topicArn, Message: 'not mine' })),
      );
      expect(elsewhere.name).toBe('AuthorizationErrorException');
      const limitedList = await client('limited').send(new ListTopicsCommand({}));
      expect(limitedList.Topics!.map((t) => t.TopicArn)).toEqual([limitedArn]);
      const limitedSms = await snsFailure(
        client('limited').send(new PublishCommand({ PhoneNumber: '+14155550106', Message: 'x' })),
      );
      expect(limitedSms.name).toBe('AuthorizationErrorException');

      const invalid: Array<[string, () => Promise<unknown>, RegExp]> = [
        [
          'a Binary attribute',
          () =>
            admin.send(
              new PublishCommand({
                TopicArn: topicArn,
                Message: 'x',
                MessageAttributes: { b: { DataType: 'Binary', BinaryValue: Buffer.from('x') } },
              }),
            ),
          /Binary/,
        ],
        [
          'an SQS subscription',
          () =>
            admin.send(
              new SubscribeCommand({
                TopicArn: topicArn,
                Protocol: 'sqs',
                Endpoint: 'arn:aws:sqs:us-east-1:000000000000:q',
              }),
            ),
          /sqs is not supported/,
        ],
        [
          'an https protocol with an http endpoint',
          () =>
            admin.send(
              new SubscribeCommand({ TopicArn: topicArn, Protocol: 'https', Endpoint: receiver.url }),
            ),
          /Endpoint/,
        ],
        [
          'a bad filter policy',
          () =>
            admin.send(
              new SubscribeCommand({
                TopicArn: topicArn,
                Protocol: 'http',
                Endpoint: receiver.url,
                Attributes: { FilterPolicy: '{"price":[{"numeric":["<",1,">",5]}]}' },
              }),
            ),
          /FilterPolicy/,
        ],
        [
          'a FIFO topic',
          () =>
            admin.send(new CreateTopicCommand({ Name: `${name}.fifo`, Attributes: { FifoTopic: 'true' } })),
          /FIFO/,
        ],
        [
          'a FIFO message',
          () => admin.send(new PublishCommand({ TopicArn: topicArn, Message: 'x', MessageGroupId: 'g' })),
          /FIFO/,
        ],
        [
          'an access policy',
          () =>
            admin.send(
              new SetTopicAttributesCommand({
                TopicArn: topicArn,
                AttributeName: 'Policy',
                AttributeValue: '{}',
              }),
            ),
          /Policy is not supported/,
        ],
        [
          'a redrive policy',
          () =>
            admin.send(
              new SubscribeCommand({
                TopicArn: topicArn,
                Protocol: 'http',
                Endpoint: receiver.url,
                Attributes: { RedrivePolicy: '{}' },
              }),
            ),
          /RedrivePolicy/,
        ],
        [
          'an empty message',
          () => admin.send(new PublishCommand({ TopicArn: topicArn, Message: '' })),
          /Empty message/,
        ],
        [
          'a subject with a line break',
          () => admin.send(new PublishCommand({ TopicArn: topicArn, Message: 'x', Subject: 'a\nb' })),
          /Subject/,
        ],
        [
          'a topic ARN of another region',
          () =>
            admin.send(
              new PublishCommand({ TopicArn: topicArn.replace('us-east-1', 'eu-west-1'), Message: 'x' }),
            ),
          /region/,
        ],
      ];
      for (const [what, call, message] of invalid) {
        const err = await snsFailure(call());
        expect(err.name, what).toBe('InvalidParameterException');
        expect(err.$metadata.httpStatusCode, what).toBe(400);
        expect(err.message, what).toMatch(message);
      }
      const huge = await snsFailure(
        admin.send(new PublishCommand({ TopicArn: topicArn, Message: 'x'.repeat(300 * 1024) })),
      );
      expect(huge.name).toBe('RequestEntityTooLarge');
      expect(huge.$metadata.httpStatusCode).toBe(413);
      // Nothing was made by any of them.
      const subs = await admin.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }));
      expect(subs.Subscriptions).toEqual([]);
      expect((await herald.request('GET', `/v1/topics/${name}.fifo`)).status).toBe(404);
      const unsupported = await fetch(`${herald.url}/sns`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'Action=CreatePlatformApplication&Name=x&Platform=GCM',
      });
      expect(unsupported.status).toBe(400);
      expect(await unsupported.text()).toContain('<Code>InvalidAction</Code>');
    });

    it('issues AWS credentials once and keeps the secret sealed', async () => {
      const made = await awsKey(herald, ['read']);
      expect(made.accessKeyId).toMatch(/^HKIA[A-Z2-7]{16}$/);
      expect(made.secretAccessKey).toHaveLength(40);
      const listed = await herald.request('GET', '/v1/api-keys?limit=1000');
      const entry = listed.body.items.find((k: { id: string }) => k.id === made.id);
      expect(entry).toMatchObject({ accessKeyId: made.accessKeyId });
      expect(listed.text).not.toContain(made.secretAccessKey);
      const catalog = herald.app.get(Catalog);
      const { rows } = await catalog.sql.query<{ sealed_secret: string }>(
        'SELECT sealed_secret FROM api_keys WHERE id = $1',
        [made.id],
      );
      expect(rows[0].sealed_secret).toMatch(/^v1\./);
      expect(rows[0].sealed_secret).not.toContain(made.secretAccessKey);
      expect(
        (await snsClient(`${herald.url}/sns`, made).send(new ListTopicsCommand({}))).Topics,
      ).toBeDefined();
      expect((await herald.request('DELETE', `/v1/api-keys/${made.id}`)).status).toBe(204);
      const revoked = await snsFailure(snsClient(`${herald.url}/sns`, made).send(new ListTopicsCommand({})));
      expect(revoked.name).toBe('InvalidClientTokenId');
    });
  },
);
