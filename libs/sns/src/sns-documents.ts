import { bodyFor, type MessagePayload, type Subscription } from '@herald/core';
import type { SnsArns } from './arns';
import { snsAttributes, type SnsAttribute } from './sns-message-attributes';

/** Signs SNS's string to sign with Herald's current key (SHA256withRSA, SignatureVersion 2). */
export interface SnsSigner {
  sign(stringToSign: string): Promise<{ signature: string; keyId: string }>;
}

export type SnsControlType = 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';

export interface SnsNotificationDocument {
  Type: 'Notification';
  MessageId: string;
  TopicArn: string;
  Subject?: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: '2';
  Signature: string;
  SigningCertURL: string;
  UnsubscribeURL: string;
  MessageAttributes?: Record<string, SnsAttribute>;
}

export interface SnsControlDocument {
  Type: SnsControlType;
  MessageId: string;
  Token: string;
  TopicArn: string;
  Message: string;
  SubscribeURL: string;
  Timestamp: string;
  SignatureVersion: '2';
  Signature: string;
  SigningCertURL: string;
}

export type SnsDocument = SnsNotificationDocument | SnsControlDocument;

type Unsigned<T> = Omit<T, 'Signature' | 'SigningCertURL'>;

const NOTIFICATION_FIELDS = ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] as const;
/** AWS signs both confirmations with these fields, `Token` included (sns-validator leaves it out of UnsubscribeConfirmation). */
const CONTROL_FIELDS = [
  'Message',
  'MessageId',
  'SubscribeURL',
  'Timestamp',
  'Token',
  'TopicArn',
  'Type',
] as const;

/** SNS's canonical string: each signed field present, as `name\nvalue\n`, in SNS's order. */
export function snsStringToSign(doc: Unsigned<SnsDocument>): string {
  const values = doc as unknown as Record<string, string | undefined>;
  const fields = doc.Type === 'Notification' ? NOTIFICATION_FIELDS : CONTROL_FIELDS;
  return fields
    .filter((f) => values[f] !== undefined)
    .map((f) => `${f}\n${values[f]}\n`)
    .join('');
}

/** An HTTP request in SNS's format: the body and the `x-amz-sns-*` headers. */
export interface SnsHttpRequest {
  contentType: string;
  headers: Record<string, string>;
  body: string;
}

export interface SnsDocumentsOptions {
  arns: SnsArns;
  /** PUBLIC_BASE_URL: SubscribeURL, UnsubscribeURL and SigningCertURL live under it. */
  publicBaseUrl: string;
  signer: SnsSigner;
}

type SubscriptionRef = Pick<Subscription, 'id' | 'topic' | 'protocol' | 'rawDelivery' | 'unsubscribeToken'>;

/** Renders and signs the documents SNS receivers get (HTTP, email-json and Lambda alike). */
export class SnsDocuments {
  private readonly base: string;

  constructor(private readonly options: SnsDocumentsOptions) {
    this.base = options.publicBaseUrl.replace(/\/+$/, '');
  }

  get arns(): SnsArns {
    return this.options.arns;
  }

  /** A GET of it confirms the subscription (the token is the only credential). */
  subscribeUrl(topic: string, token: string): string {
    const arn = this.options.arns.topic(topic);
    return `${this.base}/sns?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(arn)}&Token=${encodeURIComponent(token)}`;
  }

  /** A GET of it unsubscribes; the token (the subscription's unsubscribe token) authenticates it. */
  unsubscribeUrl(sub: Pick<Subscription, 'id' | 'topic' | 'unsubscribeToken'>): string {
    const arn = this.options.arns.subscription(sub.topic, sub.id);
    return `${this.base}/sns?Action=Unsubscribe&SubscriptionArn=${encodeURIComponent(arn)}&Token=${encodeURIComponent(sub.unsubscribeToken)}`;
  }

  certificateUrl(keyId: string): string {
    return `${this.base}/sns/SimpleNotificationService-${keyId}.pem`;
  }

  /** The `Message` a subscription gets: its protocol's body when the publisher gave one, JSON as text. */
  messageText(message: MessagePayload, sub: Pick<Subscription, 'protocol'>): string {
    const body = bodyFor(message, sub.protocol);
    return typeof body === 'string' ? body : (JSON.stringify(body) ?? '');
  }

  async notification(message: MessagePayload, sub: SubscriptionRef): Promise<SnsNotificationDocument> {
    const attributes = snsAttributes(message.attributes);
    const head = {
      Type: 'Notification' as const,
      MessageId: message.id,
      TopicArn: this.options.arns.topic(message.topic),
      ...(message.subject ? { Subject: message.subject } : {}),
      Message: this.messageText(message, sub),
      Timestamp: message.publishedAt,
      SignatureVersion: '2' as const,
    };
    const tail = {
      UnsubscribeURL: this.unsubscribeUrl(sub),
      ...(Object.keys(attributes).length > 0 ? { MessageAttributes: attributes } : {}),
    };
    // In SNS's own field order, which receivers that log or compare documents are used to.
    return { ...head, ...(await this.signed({ ...head, ...tail })), ...tail };
  }

  async control(
    type: SnsControlType,
    input: { messageId: string; sub: SubscriptionRef; token: string; timestamp: Date },
  ): Promise<SnsControlDocument> {
    const topicArn = this.options.arns.topic(input.sub.topic);
    const message =
      type === 'SubscriptionConfirmation'
        ? `You have chosen to subscribe to the topic ${topicArn}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`
        : `You have chosen to deactivate subscription ${this.options.arns.subscription(input.sub.topic, input.sub.id)}.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message.`;
    const unsigned: Unsigned<SnsControlDocument> = {
      Type: type,
      MessageId: input.messageId,
      Token: input.token,
      TopicArn: topicArn,
      Message: message,
      SubscribeURL: this.subscribeUrl(input.sub.topic, input.token),
      Timestamp: input.timestamp.toISOString(),
      SignatureVersion: '2',
    };
    return { ...unsigned, ...(await this.signed(unsigned)) };
  }

  /** An HTTP(S) request as SNS sends one: the document as `text/plain`, or with raw delivery the message alone. */
  async httpNotification(message: MessagePayload, sub: SubscriptionRef): Promise<SnsHttpRequest> {
    const headers = this.headers('Notification', message.id, message.topic, sub);
    if (sub.rawDelivery) {
      return {
        ...TEXT,
        headers: { ...headers, 'x-amz-sns-rawdelivery': 'true' },
        body: this.messageText(message, sub),
      };
    }
    return { ...TEXT, headers, body: JSON.stringify(await this.notification(message, sub)) };
  }

  async httpControl(
    type: SnsControlType,
    input: { messageId: string; sub: SubscriptionRef; token: string; timestamp: Date },
  ): Promise<SnsHttpRequest> {
    return {
      ...TEXT,
      headers: this.headers(type, input.messageId, input.sub.topic, input.sub),
      body: JSON.stringify(await this.control(type, input)),
    };
  }

  /** The event a Lambda function gets from SNS: one record carrying the notification. */
  async lambdaEvent(message: MessagePayload, sub: SubscriptionRef): Promise<unknown> {
    const n = await this.notification(message, sub);
    return {
      Records: [
        {
          EventSource: 'aws:sns',
          EventVersion: '1.0',
          EventSubscriptionArn: this.options.arns.subscription(sub.topic, sub.id),
          Sns: {
            Type: n.Type,
            MessageId: n.MessageId,
            TopicArn: n.TopicArn,
            Subject: n.Subject ?? null,
            Message: n.Message,
            Timestamp: n.Timestamp,
            SignatureVersion: n.SignatureVersion,
            Signature: n.Signature,
            SigningCertUrl: n.SigningCertURL,
            UnsubscribeUrl: n.UnsubscribeURL,
            MessageAttributes: n.MessageAttributes ?? {},
          },
        },
      ],
    };
  }

  private headers(
    type: SnsDocument['Type'],
    messageId: string,
    topic: string,
    sub: SubscriptionRef,
  ): Record<string, string> {
    return {
      'x-amz-sns-message-type': type,
      'x-amz-sns-message-id': messageId,
      'x-amz-sns-topic-arn': this.options.arns.topic(topic),
      // SNS names the subscription on everything but the confirmation request, when it has no ARN yet.
      ...(type === 'SubscriptionConfirmation'
        ? {}
        : { 'x-amz-sns-subscription-arn': this.options.arns.subscription(topic, sub.id) }),
      'user-agent': 'Amazon Simple Notification Service Agent',
    };
  }

  private async signed(doc: Unsigned<SnsDocument>): Promise<{ Signature: string; SigningCertURL: string }> {
    const { signature, keyId } = await this.options.signer.sign(snsStringToSign(doc));
    return { Signature: signature, SigningCertURL: this.certificateUrl(keyId) };
  }
}

const TEXT = { contentType: 'text/plain; charset=UTF-8' };
