import { Catalog, type CatalogEvent } from '@herald/catalog';
import type { ChannelAdapter, DeliveryRequest } from '@herald/channels';
import type { HeraldConfig } from '@herald/config';
import {
  deliveryIdFor,
  newId,
  PROTOCOLS,
  isoTime,
  resolveDeliveryPolicy,
  retryDelayMs,
  type DeliveryOutcome,
  type DeliveryPolicy,
  type MessagePayload,
  type Protocol,
  type Subscription,
} from '@herald/core';
import {
  ChangeNotifier,
  DELIVERY_BATCH_SIZE,
  RateLimiter,
  RetryLater,
  Shards,
  type DeliveryBatchJob,
  type FollowUp,
  type JobHandle,
  type NotificationJob,
  type Shard,
} from '@herald/queue';
import { HERALD_CONFIG, HeraldMetrics, LOGGER } from '@herald/runtime';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { CatalogCache } from './catalog-cache';
import { ChannelRegistry } from './channel-registry';
import { linksFor } from './links';
import { safeSend, topicView } from './safe-send';
import { Semaphore } from './semaphore';

/** What a delivery that can no longer be made needs to become a dead letter. */
export interface DeadLetterInput {
  job: NotificationJob;
  subscription: Pick<Subscription, 'topic' | 'protocol' | 'endpoint'> | null;
  attempts: number;
  reason: string;
  lastError: string | null;
  lastStatusCode: number | null;
}

/** The deliveries a batch job stands for: the first attempt of each (message, subscription). */
export function deliveriesOf(batch: DeliveryBatchJob): NotificationJob[] {
  return batch.items.flatMap((item) =>
    item.subscriptionIds.map((subscriptionId) => ({
      kind: 'Notification' as const,
      deliveryId: deliveryIdFor(item.messageId, subscriptionId),
      messageId: item.messageId,
      subscriptionId,
      run: 1,
    })),
  );
}

/**
 * Runs delivery attempts for any channel: throttle, send through the channel's adapter, classify,
 * record, and retry or dead-letter. This is the one place where retries and dead letters are decided.
 */
@Injectable()
export class DeliveryService {
  /** Per channel: the sends in flight in this process (`*_CONCURRENCY`). */
  private readonly slots: ReadonlyMap<Protocol, Semaphore>;
  /**
   * Per channel: first attempts taken from batch jobs and not yet made, twice the sends allowed in
   * flight (at least one batch), so the send slots never run dry between jobs while a backlog waits
   * in Redis rather than in memory.
   */
  private readonly gates: ReadonlyMap<Protocol, Semaphore>;

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(LOGGER) private readonly log: Logger,
    private readonly catalog: Catalog,
    private readonly cache: CatalogCache,
    private readonly channels: ChannelRegistry,
    private readonly changes: ChangeNotifier,
    private readonly limiter: RateLimiter,
    private readonly metrics: HeraldMetrics,
    private readonly shards: Shards,
  ) {
    const { concurrency } = config;
    this.slots = new Map(PROTOCOLS.map((p) => [p, new Semaphore(concurrency[p])]));
    this.gates = new Map(
      PROTOCOLS.map((p) => [p, new Semaphore(Math.max(2 * concurrency[p], DELIVERY_BATCH_SIZE))]),
    );
  }

  /**
   * A job of `shard`'s queue for `protocol`: its follow-ups go to that shard, its outcomes to each
   * message's.
   */
  async handle(
    job: JobHandle<NotificationJob | DeliveryBatchJob>,
    shard: Shard,
    protocol: Protocol,
  ): Promise<void> {
    if (job.data.kind === 'DeliveryBatch') return this.deliverBatch(job.data, shard, protocol);
    return this.notify(job as JobHandle<NotificationJob>, shard);
  }

  /** One delivery in its own job (a retry, a redrive, a throttled delivery): BullMQ schedules what follows. */
  private async notify(job: JobHandle<NotificationJob>, shard: Shard): Promise<void> {
    const data = job.data;
    const attempt = (data.attemptsBefore ?? 0) + job.attemptsMade + 1;
    const [subscription, message] = await Promise.all([
      this.cache.subscription(data.subscriptionId),
      this.cache.payload(data.messageId),
    ]);
    const step = await this.attempt(data, attempt, subscription, message);
    await this.shards.record(shard, step.events, new Map());
    if (step.next === 'postpone') await job.postpone(step.delayMs);
    if (step.next === 'retry') throw new RetryLater(step.error, step.delayMs);
  }

  /**
   * The first attempts of many deliveries in one job: sent concurrently, their outcomes recorded and
   * the deliveries that must try again scheduled in one Redis round trip. A crash re-runs the whole
   * batch: receivers may see a delivery twice, as at-least-once allows, and deduplicate on
   * `webhook-id`.
   */
  private async deliverBatch(batch: DeliveryBatchJob, shard: Shard, protocol: Protocol): Promise<void> {
    const deliveries = deliveriesOf(batch);
    // Admitted before anything is loaded: jobs beyond the gate hold only their ids, not subscriptions
    // and an attempt each waiting for a send slot (100 jobs of 100 would be 10,000 of them).
    const gate = this.gates.get(protocol)!;
    await gate.acquire(deliveries.length);
    let subscriptions: Map<string, Subscription>;
    let payloads: Map<string, MessagePayload>;
    try {
      [subscriptions, payloads] = await Promise.all([
        this.cache.subscriptions(deliveries.map((d) => d.subscriptionId)),
        this.cache.payloads(batch.items.map((i) => i.messageId)),
      ]);
    } catch (err) {
      gate.release(deliveries.length);
      throw err;
    }
    // Every attempt gives its unit back as it ends, so the next job's attempts queue up behind it.
    const steps = await Promise.all(
      deliveries.map(async (data) => {
        try {
          const step = await this.attempt(
            data,
            1,
            subscriptions.get(data.subscriptionId) ?? null,
            payloads.get(data.messageId) ?? null,
          );
          return { data, step };
        } finally {
          gate.release();
        }
      }),
    );
    await this.recordBatch(shard, steps);
  }

  /** A batch's outcomes, and the deliveries that must try again, in one Redis round trip. */
  private async recordBatch(
    shard: Shard,
    steps: Array<{ data: NotificationJob; step: Step }>,
  ): Promise<void> {
    const followUps = new Map<Protocol, FollowUp[]>();
    for (const { data, step } of steps) {
      if (step.next === 'done') continue;
      const list = followUps.get(step.protocol) ?? [];
      // A throttled delivery has made no attempt yet; a failed one continues its count.
      list.push({ ...data, attemptsBefore: step.next === 'retry' ? 1 : 0, delayMs: step.delayMs });
      followUps.set(step.protocol, list);
    }
    await this.shards.record(
      shard,
      steps.flatMap(({ step }) => step.events),
      followUps,
    );
  }

  /**
   * Makes attempt number `attempt` (within its run) of one delivery and says what comes next. Never
   * throws for an outcome: the caller records `events` and schedules the retry or the postponement.
   */
  private async attempt(
    data: NotificationJob,
    attempt: number,
    sub: Subscription | null,
    message: MessagePayload | null,
  ): Promise<Step> {
    if (!sub || sub.status !== 'active') {
      const reason = sub ? `subscription is ${sub.status}` : 'subscription was deleted';
      return done([{ type: 'cancelled', deliveryId: data.deliveryId, run: data.run, reason }]);
    }
    if (!message) {
      this.metrics.delivery(sub.protocol, 'dead');
      return done(
        this.deadLetterEvents({
          job: data,
          subscription: sub,
          attempts: attempt - 1,
          reason: 'message payload no longer exists',
          lastError: null,
          lastStatusCode: null,
        }),
      );
    }
    const topic = await this.cache.topic(sub.topic);
    const policy = resolveDeliveryPolicy(sub.deliveryPolicy, topic?.deliveryPolicy);
    const adapter = this.channels.adapter(sub.protocol);
    const request: DeliveryRequest = {
      kind: 'Notification',
      deliveryId: data.deliveryId,
      // What receivers see goes on across redrives; the budget counts within the run.
      attempt: (data.priorAttempts ?? 0) + attempt,
      subscription: sub,
      topic: topicView(topic, sub.topic),
      unsubscribeUrl: linksFor(this.config, sub).unsubscribeUrl,
      message,
    };
    const wait = await this.throttleWait(adapter, request, sub, policy);
    if (wait > 0) return { next: 'postpone', delayMs: wait, events: [], protocol: sub.protocol };

    const { outcome, durationMs } = await this.slots.get(sub.protocol)!.run(async () => {
      const started = performance.now();
      const result = await safeSend(adapter, request);
      return { outcome: result, durationMs: Math.round(performance.now() - started) };
    });
    const step = await this.outcomeStep(data, sub, policy, attempt, durationMs, outcome);
    const exhausted = outcome.result === 'retry' && step.next !== 'retry';
    this.metrics.delivery(
      sub.protocol,
      exhausted ? 'dead' : outcome.result,
      durationMs / 1000,
      message.publishedAt,
    );
    return step;
  }

  /** Milliseconds to wait for the subscription's and the provider's throttles (0: send now). */
  private async throttleWait(
    adapter: ChannelAdapter,
    request: DeliveryRequest,
    sub: Subscription,
    policy: DeliveryPolicy,
  ): Promise<number> {
    if (policy.throttlePerSecond) {
      const wait = await this.limiter.take(`sub:${sub.id}`, policy.throttlePerSecond);
      if (wait > 0) return wait;
    }
    const sender = adapter.senderThrottle?.(request);
    return sender ? this.limiter.take(sender.key, sender.perSecond) : 0;
  }

  private async outcomeStep(
    data: NotificationJob,
    sub: Subscription,
    policy: DeliveryPolicy,
    attempt: number,
    durationMs: number,
    outcome: DeliveryOutcome,
  ): Promise<Step> {
    const exhausted = outcome.result === 'retry' && attempt >= policy.maxAttempts;
    const attemptEvent: CatalogEvent = {
      type: 'attempt',
      deliveryId: data.deliveryId,
      // The delivery's identity, so the record can be created even if this event is applied first.
      messageId: data.messageId,
      subscriptionId: data.subscriptionId,
      topic: sub.topic,
      protocol: sub.protocol,
      run: data.run,
      attempt,
      at: isoTime(),
      durationMs,
      // The last attempt of an exhausted delivery says what happened: no attempt follows it.
      outcome: exhausted ? 'failed' : outcome.result,
      statusCode: outcome.statusCode ?? null,
      error: outcome.result === 'delivered' ? null : outcome.error,
      providerMessageId: outcome.result === 'delivered' ? (outcome.providerMessageId ?? null) : null,
      response: outcome.response ?? null,
    };
    if (outcome.result === 'delivered') return done([attemptEvent]);
    if (outcome.result === 'retry' && !exhausted) {
      return {
        next: 'retry',
        delayMs: retryDelayMs(attempt, policy, outcome.retryAfterMs),
        error: outcome.error,
        events: [attemptEvent],
        protocol: sub.protocol,
      };
    }
    if (outcome.result === 'failed' && outcome.action) await this.applyAction(sub, outcome.action);
    return done([
      attemptEvent,
      ...this.deadLetterEvents({
        job: data,
        subscription: sub,
        attempts: attempt,
        reason: exhausted ? `retries exhausted after ${attempt} attempts` : 'permanent failure',
        lastError: outcome.error,
        lastStatusCode: outcome.statusCode ?? null,
      }),
    ]);
  }

  /** Records a dead letter for a delivery BullMQ gave up on (the sweeper). */
  async deadLetter(shard: Shard, input: DeadLetterInput): Promise<void> {
    this.metrics.delivery(input.subscription?.protocol ?? 'webhook', 'dead');
    await this.shards.record(shard, this.deadLetterEvents(input), new Map());
  }

  private deadLetterEvents(input: DeadLetterInput): CatalogEvent[] {
    const { job, subscription } = input;
    this.log.warn(
      { deliveryId: job.deliveryId, subscriptionId: job.subscriptionId, reason: input.reason },
      'delivery dead-lettered',
    );
    return [
      {
        type: 'dead',
        id: newId('dlq'),
        deliveryId: job.deliveryId,
        run: job.run,
        messageId: job.messageId,
        subscriptionId: job.subscriptionId,
        topic: subscription?.topic ?? '',
        protocol: subscription?.protocol ?? 'webhook',
        endpoint: subscription?.endpoint ?? '',
        attempts: input.attempts,
        reason: input.reason,
        lastError: input.lastError,
        lastStatusCode: input.lastStatusCode,
        deadAt: new Date().toISOString(),
      },
    ];
  }

  /** 410 Gone disables the subscription; an SMS opt-out unsubscribes it. Rare, so written at once. */
  private async applyAction(sub: Subscription, action: 'disable' | 'unsubscribe'): Promise<void> {
    const status = action === 'disable' ? 'disabled' : 'unsubscribed';
    await this.catalog.subscriptions.setStatus(sub.id, status);
    await this.changes.notify({ kind: 'subscription', id: sub.id, topic: sub.topic });
    this.log.warn({ subscriptionId: sub.id, status }, 'subscription stopped by its receiver');
  }
}

/** What follows one attempt: nothing, a retry (an attempt spent), or a wait that spends none. */
type Step =
  | { next: 'done'; events: CatalogEvent[] }
  | { next: 'retry'; delayMs: number; error: string; events: CatalogEvent[]; protocol: Protocol }
  | { next: 'postpone'; delayMs: number; events: CatalogEvent[]; protocol: Protocol };

const done = (events: CatalogEvent[]): Step => ({ next: 'done', events });
