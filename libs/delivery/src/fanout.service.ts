import { Catalog, type CatalogEvent } from '@herald/catalog';
import { bodyForFiltering, deliveryIdFor, type Protocol, type Subscription } from '@herald/core';
import {
  chunkDeliveries,
  DELIVERY_BATCH_SIZE,
  Shards,
  type Shard,
  type DeliveryBatchJob,
  type FanoutJob,
  type JobHandle,
  type PublishRoute,
} from '@herald/queue';
import { LOGGER } from '@herald/runtime';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { CatalogCache } from './catalog-cache';

export const FANOUT_PAGE = 1000;

/** Batch jobs of a page's deliveries for one protocol, with ids derived from their first delivery. */
function batchesOf(
  messageId: string,
  subscriptionIds: string[],
): Array<{ id: string; job: DeliveryBatchJob }> {
  return chunkDeliveries([{ messageId, subscriptionIds }], DELIVERY_BATCH_SIZE).map((items) => ({
    id: `bat_${deliveryIdFor(messageId, items[0].subscriptionIds[0]).slice(4)}`,
    job: { kind: 'DeliveryBatch', items },
  }));
}

export interface FanoutPlan {
  matched: Subscription[];
  filteredOut: Subscription[];
}

/**
 * Fans a message out to the topic's active subscriptions, page by page with a checkpoint in the job,
 * so a crashed fan-out resumes where it stopped; delivery ids are deterministic, so a replayed page adds
 * nothing twice. Dry-run uses `plan`, the same matching code.
 */
@Injectable()
export class FanoutService {
  constructor(
    private readonly catalog: Catalog,
    private readonly cache: CatalogCache,
    private readonly shards: Shards,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /** Splits subscriptions into those whose filter policy matches the message and the rest. */
  match(
    subscriptions: Subscription[],
    message: { attributes: Record<string, unknown>; body: unknown },
    parsed?: { body: Record<string, unknown> | undefined },
  ): FanoutPlan {
    const plan: FanoutPlan = { matched: [], filteredOut: [] };
    for (const sub of subscriptions) {
      const filter = this.cache.filter(sub);
      // The body is parsed only when a body-scope policy asks for it, once per message.
      if (filter !== null && filter.scope === 'body' && parsed === undefined)
        parsed = { body: bodyForFiltering(message.body) };
      const ok =
        filter === null ||
        filter.matches({
          attributes: message.attributes as never,
          body: message.body,
          parsedBody: parsed?.body,
        });
      (ok ? plan.matched : plan.filteredOut).push(sub);
    }
    return plan;
  }

  /** Where a message of a small topic goes, decided at publish from the cached subscriptions. */
  async route(
    topic: string,
    message: { attributes: Record<string, unknown>; body: unknown },
  ): Promise<PublishRoute | null> {
    const subscriptions = await this.cache.topicSubscriptions(topic);
    if (subscriptions === null) return null;
    const plan = this.match(subscriptions, message);
    return {
      deliveries: this.byProtocol(plan),
      matched: plan.matched.length,
      filteredOut: plan.filteredOut.length,
    };
  }

  /** A page's batch jobs of one protocol, each on the shard of its subscriptions. */
  private async addBatches(messageId: string, protocol: Protocol, ids: string[]): Promise<void> {
    const byShard = new Map<Shard, string[]>();
    for (const id of ids) {
      const target = this.shards.byHash(id);
      const list = byShard.get(target) ?? [];
      list.push(id);
      byShard.set(target, list);
    }
    for (const [target, list] of byShard)
      await target.queues.addDeliveryBatches(protocol, batchesOf(messageId, list));
  }

  private byProtocol(plan: FanoutPlan): Map<Protocol, string[]> {
    const out = new Map<Protocol, string[]>();
    for (const sub of plan.matched) {
      const list = out.get(sub.protocol) ?? [];
      list.push(sub.id);
      out.set(sub.protocol, list);
    }
    return out;
  }

  /** The topic's active subscriptions after `after`, page by page, each split by the filter policies. */
  private async *plans(
    topic: string,
    after: string | null,
    message: { attributes: Record<string, unknown>; body: unknown },
    parsed: { body: Record<string, unknown> | undefined } = { body: bodyForFiltering(message.body) },
  ): AsyncGenerator<{ page: Subscription[]; plan: FanoutPlan; last: boolean }> {
    for (;;) {
      const page = await this.catalog.subscriptions.listActivePage(topic, after, FANOUT_PAGE);
      if (page.length === 0) return;
      const last = page.length < FANOUT_PAGE;
      yield { page, plan: this.match(page, message, parsed), last };
      if (last) return;
      after = page[page.length - 1].id;
    }
  }

  /** Which subscriptions a message would reach, by the fan-out's own paging and matching; sends nothing. */
  async dryRun(
    topic: string,
    message: { attributes: Record<string, unknown>; body: unknown },
  ): Promise<{ matched: string[]; filteredOut: string[] }> {
    const result = { matched: [] as string[], filteredOut: [] as string[] };
    for await (const { plan } of this.plans(topic, null, message)) {
      result.matched.push(...plan.matched.map((s) => s.id));
      result.filteredOut.push(...plan.filteredOut.map((s) => s.id));
    }
    return result;
  }

  /**
   * A large topic's fan-out, a job of the message's shard: its record goes to that shard's stream,
   * and its first attempts are spread over every shard by subscription, so one message to 100,000
   * subscriptions loads every Redis master.
   */
  async handle(job: JobHandle<FanoutJob>, shard: Shard): Promise<void> {
    const { messageId, topic } = job.data;
    const message = await this.cache.payload(messageId);
    if (!message) {
      this.log.error({ messageId, topic }, 'fan-out found no payload for the message; nothing to deliver');
      return;
    }
    const parsed = { body: bodyForFiltering(message.body) };
    let matched = job.data.matched ?? 0;
    let filteredOut = job.data.filteredOut ?? 0;
    for await (const { page, plan, last } of this.plans(
      topic,
      job.data.afterSubscriptionId ?? null,
      message,
      parsed,
    )) {
      const byProtocol = this.byProtocol(plan);
      const items: Array<{ id: string; subscriptionId: string; protocol: Protocol }> = [];
      for (const sub of plan.matched)
        items.push({ id: deliveryIdFor(messageId, sub.id), subscriptionId: sub.id, protocol: sub.protocol });
      // The delivery records go into the stream before their jobs, so the recorder sees them first.
      if (items.length > 0) {
        const created: CatalogEvent = { type: 'deliveries', messageId, topic, items };
        await shard.events.emit(created);
      }
      for (const [protocol, ids] of byProtocol) await this.addBatches(messageId, protocol, ids);
      matched += plan.matched.length;
      filteredOut += plan.filteredOut.length;
      // Checkpoint: a resumed fan-out starts after this page.
      if (!last)
        await job.updateData({
          ...job.data,
          afterSubscriptionId: page[page.length - 1].id,
          matched,
          filteredOut,
        });
    }
    await shard.events.emit({ type: 'message', message, matched, filteredOut });
  }
}
