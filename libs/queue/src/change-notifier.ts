import { workerConnection, type RedisClient } from './redis-connection';

export type ChangeKind = 'subscription' | 'topic' | 'api-key';

export interface Change {
  kind: ChangeKind;
  /** Subscription id (`*`: any number of subscriptions), topic name or API key id. */
  id: string;
  /** For a subscription change: its topic, so that topic-level caches drop it too. */
  topic?: string;
}

/**
 * Tells every process that a topic, subscription or API key changed, so that in-process caches of the
 * catalog (which spare the delivery path and the API a database read each time) never serve stale data
 * for long. One subscriber connection per process, shared by every listener.
 */
export class ChangeNotifier {
  private readonly channel: string;
  private subscriber: RedisClient | null = null;
  private subscribed: Promise<unknown> | null = null;
  private readonly handlers: Array<(change: Change) => void> = [];

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.channel = `${prefix}:changes`;
  }

  /**
   * Tells every process, this one first and at once: a request that follows the change in this
   * process never meets a stale cache, whatever the notice's round trip.
   */
  async notify(change: Change): Promise<void> {
    for (const h of this.handlers) h(change);
    await this.redis.publish(this.channel, JSON.stringify(change));
  }

  /** Calls `handler` for every change published by any process (this one included). */
  async onChange(handler: (change: Change) => void): Promise<void> {
    this.handlers.push(handler);
    if (!this.subscribed) {
      const subscriber = workerConnection(this.redis);
      this.subscriber = subscriber;
      subscriber.on('error', () => undefined);
      subscriber.on('message', (channel: string, raw: string) => {
        if (channel !== this.channel) return;
        let change: Change;
        try {
          change = JSON.parse(raw) as Change;
        } catch {
          return; // Not ours.
        }
        for (const h of this.handlers) h(change);
      });
      this.subscribed = subscriber.subscribe(this.channel);
    }
    await this.subscribed;
  }

  async close(): Promise<void> {
    const subscriber = this.subscriber;
    this.subscriber = null;
    this.subscribed = null;
    this.handlers.length = 0;
    subscriber?.disconnect();
  }
}
