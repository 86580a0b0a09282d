import { Catalog, type DeadLetter, type DeliveryRecord } from '@herald/catalog';
import type { Protocol } from '@herald/core';
import { Shards, type NotificationJob } from '@herald/queue';
import { Injectable } from '@nestjs/common';

/** What a new run of a delivery needs to know of it. */
type Rerun = Pick<DeadLetter, 'deliveryId' | 'messageId' | 'subscriptionId' | 'protocol' | 'run'>;

/**
 * Starts deliveries afresh: a redrive of dead letters or a resend of a message. Each gets a new run (a
 * new job, a fresh attempt budget) whose attempt numbers go on from the attempts it made before, so
 * `x-herald-attempt`, `lastAttempt` and the attempt list tell one story. The jobs are enqueued before
 * the catalog rows are restarted, so a crash in between leaves the entry to redrive again (the job id
 * is the same, so nothing is sent twice) rather than a delivery with no job.
 */
@Injectable()
export class Redelivery {
  constructor(
    private readonly catalog: Catalog,
    private readonly shards: Shards,
  ) {}

  /** Redrives dead letters; the number of entries taken off the list. */
  async redrive(entries: DeadLetter[]): Promise<number> {
    await this.enqueue(entries);
    const taken = await this.catalog.deadLetters.take({ ids: entries.map((e) => e.id) });
    return taken.length;
  }

  /** Delivers finished deliveries (delivered, dead or cancelled) again; the number started. */
  async resend(deliveries: DeliveryRecord[]): Promise<number> {
    const finished = deliveries.filter((d) => d.status !== 'pending' && d.status !== 'retrying');
    await this.enqueue(finished.map((d) => ({ ...d, deliveryId: d.id })));
    await this.catalog.deliveries.restart(finished);
    return finished.length;
  }

  private async enqueue(reruns: Rerun[]): Promise<void> {
    const before = await this.catalog.deliveries.attemptCounts(reruns.map((r) => r.deliveryId));
    const byProtocol = new Map<Protocol, NotificationJob[]>();
    for (const r of reruns) {
      const list = byProtocol.get(r.protocol) ?? [];
      list.push({
        kind: 'Notification',
        deliveryId: r.deliveryId,
        messageId: r.messageId,
        subscriptionId: r.subscriptionId,
        run: r.run + 1,
        priorAttempts: before.get(r.deliveryId) ?? 0,
      });
      byProtocol.set(r.protocol, list);
    }
    // A delivery runs again on its message's shard, where its payload and record are.
    for (const [protocol, jobs] of byProtocol) {
      for (const shard of this.shards.all) {
        const mine = jobs.filter((j) => this.shards.ofMessage(j.messageId) === shard);
        if (mine.length > 0) await shard.queues.addNotifications(protocol, mine);
      }
    }
  }
}
