import type { SnsConfig } from '@herald/config';

/** Topic names as both Herald and SNS (standard topics) allow them. */
const TOPIC_NAME = /^[A-Za-z0-9_-]{1,256}$/;
const SUBSCRIPTION_ID = /^sub_[0-9A-Z]{26}$/;

export type ArnParse<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * SNS ARNs of this installation: `arn:aws:sns:{region}:{account}:{topic}` for topics and
 * `…:{topic}:{subscription id}` for subscriptions.
 */
export class SnsArns {
  private readonly prefix: string;

  constructor(readonly config: SnsConfig) {
    this.prefix = `arn:aws:sns:${config.region}:${config.accountId}:`;
  }

  topic(name: string): string {
    return this.prefix + name;
  }

  subscription(topic: string, id: string): string {
    return `${this.prefix}${topic}:${id}`;
  }

  parseTopic(arn: string): ArnParse<string> {
    const parts = this.split(arn, 1);
    if (!parts.ok) return parts;
    const [name] = parts.value;
    if (name.endsWith('.fifo')) return { ok: false, reason: 'FIFO topics are not supported' };
    if (!TOPIC_NAME.test(name)) return { ok: false, reason: 'the topic name is not valid' };
    return { ok: true, value: name };
  }

  parseSubscription(arn: string): ArnParse<{ topic: string; id: string }> {
    const parts = this.split(arn, 2);
    if (!parts.ok) return parts;
    const [topic, id] = parts.value;
    if (!TOPIC_NAME.test(topic) || !SUBSCRIPTION_ID.test(id))
      return { ok: false, reason: 'not a subscription ARN of this server' };
    return { ok: true, value: { topic, id } };
  }

  /** The resource parts after `arn:aws:sns:{region}:{account}:`, when the ARN is this server's. */
  private split(arn: string, count: number): ArnParse<string[]> {
    const parts = arn.split(':');
    if (parts.length !== 5 + count || parts[0] !== 'arn' || parts[2] !== 'sns' || !parts[1].startsWith('aws'))
      return { ok: false, reason: 'not an SNS ARN' };
    if (parts[3] !== this.config.region)
      return { ok: false, reason: `the region is not ${this.config.region}` };
    if (parts[4] !== this.config.accountId)
      return { ok: false, reason: `the account is not ${this.config.accountId}` };
    return { ok: true, value: parts.slice(5) };
  }
}
