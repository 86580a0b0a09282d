import type Redis from 'ioredis';

export type ChangeKind = 'subscription' | 'topic';

export interface Change {
  kind: ChangeKind;
  /** Subscription id (`*`: any number of subscriptions) or topic name. */
  id: string;
  /** For a subscription change: its topic, so that topic-level caches drop it too. */
  topic?: string;
}

/**
 * Tells every process that a topic or subscription changed, so that caches of the catalog on the
 * delivery path (which spare it a database read per delivery) never serve a stale subscription for long.
 */
export class ChangeNotifier {
  private readonly channel: string;
  private subscriber: Redis | null = null;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.channel = `${prefix}:changes`;
  }

  async notify(change: Change): Promise<void> {
    await this.redis.publish(this.channel, JSON.stringify(change));
  }

  /** Calls `onChange` for every change published by any process; `subscriber` is a dedicated connection. */
  async listen(subscriber: Redis, onChange: (change: Change) => void): Promise<void> {
    this.subscriber = subscriber;
    subscriber.on('message', (channel: string, raw: string) => {
      if (channel !== this.channel) return;
      try {
        onChange(JSON.parse(raw) as Change);
      } catch {
        // Not ours: ignore.
      }
    });
    await subscriber.subscribe(this.channel);
  }

  async close(): Promise<void> {
    if (this.subscriber) {
      await this.subscriber.unsubscribe(this.channel).catch(() => undefined);
      this.subscriber = null;
    }
  }
}
