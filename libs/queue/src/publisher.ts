import type { CatalogEvent, MessageEvent } from '@herald/catalog';
import { isoTime, ulid, type MessageAttributes, type MessagePayload, type Protocol } from '@herald/core';
import { Job } from 'bullmq';
import { Cluster, type ChainableCommander } from 'ioredis';
import { catalogEventStreamKey, encodeEventParts } from './catalog-event-stream';
import type { DeliveryBatchJob } from './jobs';
import {
  IDEMPOTENCY_TTL_SECONDS,
  PAYLOAD_TTL_SECONDS,
  requestFingerprint,
  type MessageStore,
} from './message-store';
import {
  BATCH_JOB_OPTIONS,
  DELIVERY_BATCH_SIZE,
  FANOUT_JOB_OPTIONS,
  type QueueTransaction,
} from './queue-client';
import { deliveryQueueFor, FANOUT_QUEUE, type QueueName } from './queue-names';
import { isNoScript, type RedisClient } from './redis-connection';
import type { Shard, Shards } from './shards';

export interface PublishInput {
  body: unknown;
  subject: string | null;
  attributes: MessageAttributes;
  bodyByProtocol: Partial<Record<Protocol, unknown>>;
}

export interface PublishResult {
  messageId: string;
  duplicate: boolean;
}

/** Where accepted messages are counted (HeraldMetrics). */
export interface PublishCounter {
  published(n: number): void;
}

/**
 * Where a message goes when its topic is small enough to fan out at publish: the subscriptions whose
 * filter matched, by protocol, and the counts. `null` means "fan out in a job" (a large topic, or
 * subscriptions that could not be read now).
 */
export interface PublishRoute {
  deliveries: ReadonlyMap<Protocol, readonly string[]>;
  matched: number;
  filteredOut: number;
}

export type PublishRouter = (topic: string, message: MessagePayload) => Promise<PublishRoute | null>;

/** Redis did not accept the publish in time (or at all): nothing was published. */
export class PublishUnavailableError extends Error {
  constructor(reason: string) {
    super(`The message was not accepted: ${reason}. Nothing was published; try again.`);
    this.name = 'PublishUnavailableError';
  }
}

/**
 * Redis applied the publish but no replica confirmed it in time (REDIS_WAIT_REPLICAS): it is likely,
 * not certain, to be delivered; a retry with the same Idempotency-Key never makes a second message.
 */
export class PublishNotReplicatedError extends PublishUnavailableError {
  constructor(
    readonly messageIds: string[],
    replicas: number,
    timeoutMs: number,
  ) {
    super(`no Redis replica confirmed it within ${timeoutMs} ms (${replicas} wanted)`);
    this.message =
      `The message was stored by the Redis master, but no replica confirmed it within ${timeoutMs} ms, so ` +
      `it could be lost if the master failed now. It will most likely be delivered; retry with the same ` +
      `Idempotency-Key to be sure without sending it twice.`;
    this.name = 'PublishNotReplicatedError';
  }
}

/** The same idempotency key was used before for a different request. */
export class IdempotencyKeyReusedError extends Error {
  constructor(readonly messageId: string) {
    super('This Idempotency-Key was used for a different request within the last 24 hours.');
    this.name = 'IdempotencyKeyReusedError';
  }
}

export interface PublisherOptions {
  /** A publish not accepted by Redis within this time is refused, and never delivered later. */
  timeoutMs?: number;
  /** Replicas the writes must reach (Redis WAIT) before the 202, and how long to wait for them. */
  waitReplicas?: number;
  waitTimeoutMs?: number;
  /** Fan-out at publish for small topics; without one every message gets a fan-out job. */
  router?: PublishRouter;
  counter?: PublishCounter;
  /**
   * Keep what is published in the message store's memory (default true), for deliveries made on this
   * event loop; false where the workers run elsewhere (a worker thread or process reads it from Redis).
   */
  rememberPayloads?: boolean;
}

/** A publish waiting for its shard's next commit: settled once, by the commit or at its deadline. */
class Pending {
  settled = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly shard: Shard,
    readonly payload: MessagePayload,
    readonly route: PublishRoute | null,
    readonly idempotency: { key: string; value: string } | null,
    /**
     * Finishing a keyed publish whose first attempt was not committed: a commit Redis ran too late left
     * its job ids as tombstones, so this one's fan-out job must not reuse the message's id.
     */
    readonly resumed: boolean,
    /** Local time by which Redis must have applied the commit; later it applies nothing. */
    readonly deadline: number,
    timeoutMs: number,
    private readonly resolve: () => void,
    private readonly reject: (err: Error) => void,
  ) {
    // Arguments rather than a closure: this runs for every publish.
    this.timer = setTimeout(expire, Math.max(0, deadline - Date.now()), this, timeoutMs);
  }

  settle(err: Error | null): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    if (err) this.reject(err);
    else this.resolve();
  }
}

function expire(p: Pending, timeoutMs: number): void {
  p.settle(new PublishUnavailableError(`Redis did not answer within ${timeoutMs} ms`));
}

/** Publishes written in one round trip at most. */
const MAX_COMMIT = 200;
/** A clock sample whose round trip took longer is not trusted. */
const CLOCK_SAMPLE_MAX_RTT_MS = 20;
/** Redis must apply a commit this long before the publish's timeout, so its answer can still arrive. */
const COMMIT_MARGIN_MS = 250;

/**
 * The commit of a group of publishes, run first in their MULTI: when Redis executes it after the
 * deadline (it was queued behind a reconnect, or Redis was stopped), it writes nothing and turns the
 * group's job ids into tombstones, so the job inserts that follow in the same MULTI add nothing
 * either. A publish that was refused is therefore never delivered later.
 * The catalog's record of the messages fanned out here is put together from the payloads it stores,
 * so each payload crosses to Redis once.
 *   KEYS: stream, payload keys…, idempotency keys…, job keys…
 *   ARGV: deadline (Redis clock, ms), payload TTL, idempotency TTL, #payloads, #idempotency keys,
 *         #event parts (0 for no record), event parts…, payloads…, idempotency values…
 *   Event parts (see encodeEventParts) alternate text and the number of a payload (1 = the first).
 */
const COMMIT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local np = tonumber(ARGV[4])
local ni = tonumber(ARGV[5])
if now > tonumber(ARGV[1]) then
  for k = 2 + np + ni, #KEYS do
    redis.call('HSET', KEYS[k], 'withdrawn', '1')
    redis.call('PEXPIRE', KEYS[k], 3600000)
  end
  return 0
end
local ne = tonumber(ARGV[6])
local p0 = 6 + ne
for i = 1, np do redis.call('SET', KEYS[1 + i], ARGV[p0 + i], 'EX', ARGV[2]) end
for i = 1, ni do redis.call('SET', KEYS[1 + np + i], ARGV[p0 + np + i], 'EX', ARGV[3]) end
if ne > 0 then
  local text = {}
  for i = 1, ne do
    if i % 2 == 0 then text[i] = ARGV[p0 + tonumber(ARGV[6 + i])] else text[i] = ARGV[6 + i] end
  end
  redis.call('XADD', KEYS[1], '*', 'e', table.concat(text))
end
return 1`;

type CommitTransaction = QueueTransaction & {
  heraldCommit(numKeys: number, ...args: Array<string | number>): ChainableCommander;
};

/**
 * Accepts messages. A message is answered `202` only once Redis holds its payload, the record of it
 * and the jobs that deliver it, written in one MULTI: for a small topic (see PublishRouter) the
 * deliveries themselves, fanned out here; for a large one a fan-out job. Publishes that arrive while a
 * commit is in flight share the next one, so a busy publisher costs Redis one round trip per group,
 * not per message. An idempotency key makes a retried publish return the first id.
 */
export class Publisher {
  private readonly timeoutMs: number;
  private readonly router: PublishRouter | null;
  private readonly counter: PublishCounter | null;
  private readonly waitReplicas: number;
  private readonly rememberPayloads: boolean;
  private readonly waitTimeoutMs: number;
  /** Publishes waiting for their shard's next commit. */
  private readonly queues = new Map<number, Pending[]>();
  private readonly flushing = new Set<number>();
  /** Redis's clock minus ours, so deadlines are checked on Redis's clock. */
  private clockOffsetMs = 0;
  private clockCheckedAt = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly store: MessageStore,
    private readonly shards: Shards,
    options: PublisherOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.router = options.router ?? null;
    this.counter = options.counter ?? null;
    this.waitReplicas = options.waitReplicas ?? 0;
    this.rememberPayloads = options.rememberPayloads ?? true;
    this.waitTimeoutMs = options.waitTimeoutMs ?? 500;
    for (const shard of shards.all) shard.queues.defineScript('heraldCommit', COMMIT_SCRIPT);
  }

  async publish(topic: string, input: PublishInput, idempotencyKey?: string | null): Promise<PublishResult> {
    const started = Date.now();
    await this.connected(started + this.timeoutMs);
    // A keyed publish goes where its key lives, so key and message share one atomic commit.
    const shard = idempotencyKey ? this.store.idempotencyShard(topic, idempotencyKey) : this.shards.rotate();
    let messageId = this.shards.newMessageId(shard);
    let duplicate = false;
    let idempotency: Pending['idempotency'] = null;
    if (idempotencyKey) {
      const fingerprint = requestFingerprint(input);
      const claim = await this.withinDeadline(
        started,
        this.store.claimIdempotencyKey(topic, idempotencyKey, messageId, fingerprint),
      );
      if (claim.state === 'mismatch') throw new IdempotencyKeyReusedError(claim.messageId);
      if (claim.state === 'done') return { messageId: claim.messageId, duplicate: true };
      if (claim.state === 'incomplete') {
        // The first publish with this key was not committed (it died, or was refused): finish it.
        messageId = claim.messageId;
        duplicate = true;
      }
      idempotency = {
        key: this.store.idempotencyKey(topic, idempotencyKey),
        value: this.store.completedIdempotencyValue(messageId, fingerprint),
      };
    }
    const payload: MessagePayload = {
      id: messageId,
      topic,
      subject: input.subject,
      body: input.body,
      attributes: input.attributes,
      bodyByProtocol: input.bodyByProtocol,
      publishedAt: isoTime(started),
    };
    const route = this.router ? await this.router(topic, payload).catch(() => null) : null;
    // A key seen before that gets this far was never committed: this publish resumes it.
    const resumed = duplicate;
    await this.commit(shard, payload, route, idempotency, resumed, started + this.timeoutMs);
    // Counted when committed: a resumed publish answers duplicate (its key was seen), but its first
    // attempt applied nothing, so the message is published now.
    this.counter?.published(1);
    return { messageId, duplicate };
  }

  /**
   * Resolves when the connection is ready. A connection still being made (at start) is waited for
   * until the deadline; one that was lost refuses at once, so publishers learn of an outage in
   * milliseconds (and are asked to retry) rather than queueing behind it.
   */
  private async connected(deadline: number): Promise<void> {
    const status = this.redis.status;
    if (status === 'ready') return;
    if (!['wait', 'connecting', 'connect'].includes(status))
      throw new PublishUnavailableError('Redis is unreachable');
    if (status === 'wait') this.redis.connect().catch(() => undefined);
    await new Promise<void>((resolve, reject) => {
      const done = (err: Error | null) => {
        clearTimeout(timer);
        this.redis.off('ready', onReady).off('reconnecting', onLost).off('end', onLost);
        if (err) reject(err);
        else resolve();
      };
      const onReady = () => done(null);
      const onLost = () => done(new PublishUnavailableError('Redis is unreachable'));
      const timer = setTimeout(
        () => done(new PublishUnavailableError(`Redis did not answer within ${this.timeoutMs} ms`)),
        Math.max(0, deadline - Date.now()),
      );
      this.redis.on('ready', onReady).on('reconnecting', onLost).on('end', onLost);
    });
  }

  /** Joins the next commit; resolves once Redis applied it, rejects when it was not applied in time. */
  private commit(
    shard: Shard,
    payload: MessagePayload,
    route: PublishRoute | null,
    idempotency: Pending['idempotency'],
    resumed: boolean,
    deadline: number,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const pending = new Pending(
        shard,
        payload,
        route,
        idempotency,
        resumed,
        deadline,
        this.timeoutMs,
        resolve,
        reject,
      );
      let queue = this.queues.get(shard.index);
      if (!queue) {
        queue = [];
        this.queues.set(shard.index, queue);
      }
      queue.push(pending);
      // Publishes parsed in this turn of the event loop join the first commit of their shard.
      if (!this.flushing.has(shard.index)) {
        this.flushing.add(shard.index);
        setImmediate(() => void this.flush(shard));
      }
    });
  }

  private async flush(shard: Shard): Promise<void> {
    const queue = this.queues.get(shard.index)!;
    try {
      while (queue.length > 0) {
        const group = queue.splice(0, MAX_COMMIT).filter((p) => !p.settled);
        if (group.length > 0) await this.write(shard, group);
      }
    } finally {
      this.flushing.delete(shard.index);
    }
  }

  private async write(shard: Shard, group: Pending[]): Promise<void> {
    try {
      // A commit Redis refused whole for want of its scripts applied nothing: the transaction has
      // loaded them again, so it is tried once more.
      if ((await this.commitGroup(shard, group)) === 'no-script') await this.commitGroup(shard, group);
    } catch (err) {
      const refused =
        err instanceof PublishUnavailableError ? err : new PublishUnavailableError(describeRedisError(err));
      for (const p of group) p.settle(refused);
    }
  }

  private async commitGroup(shard: Shard, group: Pending[]): Promise<'no-script' | void> {
    const committer = shard.queues.transactionConnection;
    if (this.redis.status !== 'ready' || committer.status !== 'ready')
      throw new PublishUnavailableError('Redis is unreachable');
    const tx = (await shard.queues.transaction()) as CommitTransaction;
    await this.syncClock();
    const jobs = this.jobsFor(shard, group);
    const keys = [
      catalogEventStreamKey(shard.prefix),
      ...group.map((p) => this.store.payloadKey(p.payload.id)),
      ...group.flatMap((p) => (p.idempotency ? [p.idempotency.key] : [])),
      ...jobs.map((j) => shard.queues.queue(j.queueName as QueueName).toKey(j.id!)),
    ];
    const payloads = group.map((p) => JSON.stringify(p.payload));
    // Messages fanned out here are recorded now; a fan-out job records its own.
    const events = group.flatMap((p) => (p.route ? [messageEvent(p.payload, p.route)] : []));
    const eventParts =
      events.length > 0
        ? encodeEventParts(events, new Map(group.map((p, i) => [p.payload.id, String(i + 1)])))
        : [];
    const idempotencyValues = group.flatMap((p) => (p.idempotency ? [p.idempotency.value] : []));
    const deadline = Math.min(...group.map((p) => p.deadline)) - COMMIT_MARGIN_MS + this.clockOffsetMs;
    tx.heraldCommit(
      keys.length,
      ...keys,
      Math.floor(deadline),
      PAYLOAD_TTL_SECONDS,
      IDEMPOTENCY_TTL_SECONDS,
      payloads.length,
      idempotencyValues.length,
      eventParts.length,
      ...eventParts,
      ...payloads,
      ...idempotencyValues,
    );
    for (const job of jobs) job.addJob(tx).catch(() => undefined);
    const results = await tx.exec();
    if (results && results.length > 0 && results.every(([e]) => isNoScript(e))) return 'no-script';
    const [err, committed] = results?.[0] ?? [new Error('the transaction was discarded'), 0];
    if (err) throw err;
    if (committed !== 1) throw new PublishUnavailableError('Redis applied it too late');
    for (const [jobErr] of results!.slice(1)) if (jobErr) throw jobErr;
    if (this.waitReplicas > 0) await this.replicated(committer, keys[0], group);
    group.forEach((p, i) => {
      if (!p.settled && this.rememberPayloads) this.store.remember(p.payload, payloads[i].length);
      p.settle(null);
    });
  }

  /**
   * Waits until REDIS_WAIT_REPLICAS replicas have the commit (WAIT on the connection that made it,
   * `committer`: WAIT counts that connection's writes; on a cluster, to the master of the slot). Applied but not replicated in time is a 503 that
   * says so (PublishNotReplicatedError).
   */
  private async replicated(committer: RedisClient, key: string, group: Pending[]): Promise<void> {
    let acked: number;
    if (committer instanceof Cluster) {
      // A cluster pipeline goes to the node of its keys, and a keyless WAIT rides along on that
      // node's connection: the one that made the commit.
      const results = await committer
        .pipeline()
        .exists(key)
        .wait(this.waitReplicas, this.waitTimeoutMs)
        .exec();
      const [err, value] = results?.[1] ?? [new Error('WAIT got no answer'), 0];
      if (err) throw err;
      acked = Number(value);
    } else {
      acked = Number(await committer.wait(this.waitReplicas, this.waitTimeoutMs));
    }
    if (acked < this.waitReplicas) {
      throw new PublishNotReplicatedError(
        group.map((p) => p.payload.id),
        this.waitReplicas,
        this.waitTimeoutMs,
      );
    }
  }

  /** The jobs that deliver a group: first attempts by protocol in batches, fan-out jobs for large topics. */
  private jobsFor(shard: Shard, group: Pending[]): Job[] {
    const jobs: Job[] = [];
    const byProtocol = new Map<Protocol, DeliveryBatchJob['items']>();
    for (const p of group) {
      if (!p.route) {
        const fanout = shard.queues.queue(FANOUT_QUEUE);
        const data = { messageId: p.payload.id, topic: p.payload.topic };
        // Named after the message, but for a resumed publish: its first commit may have left a tombstone.
        const jobId = p.resumed ? `${p.payload.id}-${ulid()}` : p.payload.id;
        jobs.push(new Job(fanout, 'fanout', data, FANOUT_JOB_OPTIONS, jobId));
        continue;
      }
      for (const [protocol, subscriptionIds] of p.route.deliveries) {
        if (subscriptionIds.length === 0) continue;
        const items = byProtocol.get(protocol) ?? [];
        items.push({ messageId: p.payload.id, subscriptionIds: [...subscriptionIds] });
        byProtocol.set(protocol, items);
      }
    }
    for (const [protocol, items] of byProtocol) {
      const queue = shard.queues.queue(deliveryQueueFor(protocol));
      for (const chunk of chunkDeliveries(items, DELIVERY_BATCH_SIZE)) {
        const data: DeliveryBatchJob = { kind: 'DeliveryBatch', items: chunk };
        jobs.push(new Job(queue, 'deliver', data, BATCH_JOB_OPTIONS, `pub_${ulid()}`));
      }
    }
    return jobs;
  }

  /**
   * Measures how far Redis's clock is from ours, once a minute. Only a quick round trip says it
   * truly (a slow one could be off by half its length), so a slow sample is not used.
   */
  private async syncClock(): Promise<void> {
    const now = Date.now();
    if (now - this.clockCheckedAt < 60_000) return;
    this.clockCheckedAt = now;
    const [seconds, micros] = await this.redis.time();
    const after = Date.now();
    if (after - now > CLOCK_SAMPLE_MAX_RTT_MS) return;
    const redisNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    this.clockOffsetMs = redisNow - (now + after) / 2;
  }

  private async withinDeadline<T>(started: number, promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new PublishUnavailableError(`Redis did not answer within ${this.timeoutMs} ms`)),
        Math.max(0, started + this.timeoutMs - Date.now()),
      );
    });
    try {
      return await Promise.race([promise, late]);
    } catch (err) {
      if (err instanceof PublishUnavailableError || err instanceof IdempotencyKeyReusedError) throw err;
      throw new PublishUnavailableError(describeRedisError(err));
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The catalog's record of a message fanned out at publish: payload, counts and its deliveries. */
function messageEvent(payload: MessagePayload, route: PublishRoute): CatalogEvent {
  const deliveries: NonNullable<MessageEvent['deliveries']> = [];
  for (const [protocol, ids] of route.deliveries)
    for (const subscriptionId of ids) deliveries.push({ subscriptionId, protocol });
  return {
    type: 'message',
    message: payload,
    matched: route.matched,
    filteredOut: route.filteredOut,
    deliveries,
  };
}

/** Splits items into chunks of at most `size` deliveries (a message's list may be split too). */
export function chunkDeliveries(
  items: DeliveryBatchJob['items'],
  size: number,
): Array<DeliveryBatchJob['items']> {
  const chunks: Array<DeliveryBatchJob['items']> = [];
  let chunk: DeliveryBatchJob['items'] = [];
  let count = 0;
  for (const item of items) {
    for (let i = 0; i < item.subscriptionIds.length;) {
      const take = Math.min(size - count, item.subscriptionIds.length - i);
      chunk.push({ messageId: item.messageId, subscriptionIds: item.subscriptionIds.slice(i, i + take) });
      count += take;
      i += take;
      if (count === size) {
        chunks.push(chunk);
        chunk = [];
        count = 0;
      }
    }
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

function describeRedisError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return /connection|ECONN|closed|stream isn't writeable|EPIPE|ETIMEDOUT/i.test(message)
    ? 'Redis is unreachable'
    : `Redis refused it (${message.slice(0, 200)})`;
}
