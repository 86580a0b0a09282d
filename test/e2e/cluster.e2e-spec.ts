import { messageShard } from '@herald/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTopic,
  deadLettersOf,
  deliveryOf,
  publish,
  settledCounts,
  subscribe,
} from '../support/herald-api';
import {
  expectAllDelivered,
  HeraldFleet,
  killWorkerMidFlight,
  PublishLoad,
  type ApiProcess,
  type LoadRequest,
} from '../support/herald-fleet';
import { HeraldProcess } from '../support/herald-process';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster';
import { WebhookReceiver } from '../support/webhook-receiver';

/**
 * Six shards: with the slots `redis-cli --cluster create` gives 3 masters, {herald}…{herald-5} land
 * on all three (3, 2 and 1 shards); the keys test below measures that rather than trusting it.
 */
const SHARDS = 6;
const PUBLISH_TIMEOUT_MS = 2000;
/** The client gives up on a publish well after Herald should have answered it. */
const CLIENT_TIMEOUT_MS = PUBLISH_TIMEOUT_MS + 3000;
/** The 503 of a publish applied by the master but confirmed by no replica in time. */
const NOT_REPLICATED = /no replica confirmed/;
const FAST = { maxAttempts: 10, minDelayMs: 200, maxDelayMs: 1000 };

/**
 * Herald on a real Redis Cluster (3 masters, 3 replicas, from the redis-server binary) and
 * PostgreSQL, as a deployment runs it: one API process and two worker processes, each a child
 * process of the build.
 */
describe('Herald on a Redis Cluster: one API and two worker processes', () => {
  let cluster: RedisCluster;
  let fleet: HeraldFleet;
  let api: ApiProcess;
  let workers: HeraldProcess[];

  beforeAll(async () => {
    cluster = await startRedisCluster();
    fleet = await HeraldFleet.start({
      REDIS_CLUSTER_NODES: cluster.nodes.join(','),
      HERALD_SHARDS: String(SHARDS),
      // A 202 waits for a replica: the guarantee that survives a master's failover.
      REDIS_WAIT_REPLICAS: '1',
      PUBLISH_TIMEOUT_MS: String(PUBLISH_TIMEOUT_MS),
      WEBHOOK_HEADERS_TIMEOUT_MS: '3000',
    });
    api = await fleet.api();
    workers = await Promise.all([fleet.worker(api.url), fleet.worker(api.url)]);
  }, 180_000);
  afterAll(async () => {
    await fleet?.stop();
    await cluster?.stop();
  });

  const receiver = () => fleet.receiver();

  /** A topic with one active webhook subscription per path of `to`. */
  async function topicTo(
    name: string,
    to: WebhookReceiver,
    policy: Record<string, number> = FAST,
    paths = ['/hook'],
  ) {
    await createTopic(api, name);
    const subs: string[] = [];
    for (const path of paths) {
      const sub = await subscribe(api, name, {
        protocol: 'webhook',
        endpoint: to.urlFor('127.0.0.1', path),
        skipConfirmation: true,
        deliveryPolicy: policy,
      });
      subs.push(sub.id as string);
    }
    return subs;
  }

  it('passes the main flows: fan-out, retries, dead letter, redrive, idempotent publish, throttle', async () => {
    // Fan-out: 9 messages (on every shard in turn) to 3 subscriptions each.
    const fan = await receiver();
    await topicTo('fanout', fan, FAST, ['/a', '/b', '/c']);
    const ids: string[] = [];
    for (let i = 0; i < 9; i++) ids.push(await publish(api, 'fanout', { body: { i } }));
    expect(new Set(ids.map((id) => messageShard(id, SHARDS))).size).toBe(SHARDS);
    for (const id of ids) {
      expect(await settledCounts(api, id)).toMatchObject({ matched: 3, pending: 0, failed: 0, delivered: 3 });
    }
    const pairs = new Set(fan.requests.map((r) => `${r.headers['webhook-id']} ${r.path}`));
    expect(pairs.size).toBe(27);

    // Retries: 500, then 503, then 200.
    const flaky = await receiver();
    flaky.reply(500, 503);
    await topicTo('retries', flaky);
    const retried = await deliveryOf(api, await publish(api, 'retries', { body: 'again' }), 'delivered');
    expect(retried.attempts.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 503, 200]);

    // Dead letter after the last attempt; a redrive delivers it once the receiver is back.
    const down = await receiver();
    down.answerByDefault(500);
    const [deadSub] = await topicTo('dead', down, { maxAttempts: 2, minDelayMs: 200, maxDelayMs: 200 });
    const deadId = await publish(api, 'dead', { body: 'doomed' });
    const [letter] = await deadLettersOf(api, deadSub);
    expect(letter.messageId).toBe(deadId);
    down.answerByDefault(200);
    expect((await api.request('POST', `/v1/dead-letters/${letter.id}/redrive`)).status).toBe(202);
    await deliveryOf(api, deadId, 'delivered');
    expect(down.requests.filter((r) => r.answeredWith === 200).map((r) => r.headers['webhook-id'])).toEqual([
      deadId,
    ]);
    expect((await api.request('GET', `/v1/dead-letters?subscriptionId=${deadSub}`)).body.items).toEqual([]);

    // Idempotent publish: the same key gives the same message, delivered once; another body is a 422.
    const once = await receiver();
    await topicTo('idem', once);
    const keyed = (body: unknown) =>
      api.request('POST', '/v1/topics/idem/messages', { body }, { headers: { 'idempotency-key': 'k-1' } });
    const first = await keyed('once');
    const second = await keyed('once');
    expect(first.status).toBe(202);
    expect(second.body).toEqual({ messageId: first.body.messageId, duplicate: true });
    expect((await keyed('other')).status).toBe(422);
    const after = await publish(api, 'idem', { body: 'after' });
    await deliveryOf(api, after, 'delivered');
    await deliveryOf(api, first.body.messageId, 'delivered');
    expect(once.requests.map((r) => r.headers['webhook-id']).sort()).toEqual(
      [first.body.messageId, after].sort(),
    );

    // Throttle: a bucket of 2 a second, shared by both workers, cannot pass 5 sends in under 1.5 s.
    const slow = await receiver();
    await topicTo('throttled', slow, { ...FAST, throttlePerSecond: 2 });
    const throttled: string[] = [];
    for (let i = 0; i < 5; i++) throttled.push(await publish(api, 'throttled', { body: { i } }));
    const at: number[] = [];
    for (const id of throttled) {
      const d = await deliveryOf(api, id, 'delivered');
      expect(d.attempts).toHaveLength(1);
      at.push(Date.parse(d.attempts[0].at));
    }
    expect(Math.max(...at) - Math.min(...at)).toBeGreaterThanOrEqual(1000);
  });

  it("spreads Herald's keys over all three masters (SCAN on each master)", async () => {
    const masters = await cluster.masters();
    expect(masters).toHaveLength(3);
    const perMaster = await cluster.keysPerMaster('{herald*');
    console.log(`Herald keys per master: ${[...perMaster].map(([m, n]) => `${m} ${n}`).join(', ')}`);
    expect([...perMaster.keys()].sort()).toEqual([...masters].sort());
    for (const [master, n] of perMaster) expect(n, master).toBeGreaterThan(0);
    // Each shard's keys live on one master only: a shard is one hash tag.
    for (let k = 0; k < SHARDS; k++) {
      const tag = k === 0 ? '{herald}' : `{herald-${k}}`;
      const holders = [...(await cluster.keysPerMaster(`${tag}*`))].filter(([, n]) => n > 0);
      expect(holders, tag).toHaveLength(1);
    }
  });

  it('kill -9 of a worker process under load: every 202 is delivered', { timeout: 120_000 }, async () => {
    // A slow receiver (1 s an answer) keeps deliveries in flight in both workers all the time.
    const sink = await receiver();
    sink.answerByDefault({ status: 200, delayMs: 1000 });
    await topicTo('load-w', sink);
    const load = new PublishLoad([api.url], 'load-w', { concurrency: 4, timeoutMs: CLIENT_TIMEOUT_MS });
    const [victim] = workers;
    const { accepted, abandoned, duplicates } = await killWorkerMidFlight(load, sink, victim);
    console.log(
      `worker kill: ${accepted.length} accepted, all delivered; ${abandoned} requests in flight in the killed worker, ${duplicates} messages delivered twice`,
    );
    // Two workers again for what follows.
    workers = [workers[1], await fleet.worker(api.url)];
  });

  /** The shards whose keys a master holds (SCAN per shard tag). */
  async function shardsOn(master: string): Promise<number[]> {
    const on: number[] = [];
    for (let k = 0; k < SHARDS; k++) {
      const counts = await cluster.keysPerMaster(`${k === 0 ? '{herald}' : `{herald-${k}}`}*`);
      if ((counts.get(master) ?? 0) > 0) on.push(k);
    }
    return on;
  }

  it(
    'kill -9 of a master: failover to its replica, Herald reconnects, every 202 is delivered, refusals are timely 503s',
    { timeout: 150_000 },
    async () => {
      const sink = await receiver();
      await topicTo('load-m', sink);
      const [master] = await cluster.masters();
      const orphaned = await shardsOn(master);
      expect(orphaned.length).toBeGreaterThan(0);
      const load = new PublishLoad([api.url], 'load-m', { concurrency: 4, timeoutMs: CLIENT_TIMEOUT_MS });
      const shardOf = (r: LoadRequest) => messageShard(r.messageId!, SHARDS);
      const acceptedSince = (t: number) => new Set(load.accepted.filter((r) => r.startedAt > t).map(shardOf));
      let killedAt = 0;
      let failedOverAt = 0;
      let restartedAt = 0;
      try {
        await load.acceptMore(50);
        killedAt = Date.now();
        await cluster.kill(master, 'SIGKILL');
        await cluster.waitForFailover(master);
        failedOverAt = Date.now();
        // Herald found the new master by itself: the other masters' shards go on, and a publish to the
        // promoted master's shards is applied there but refused, since no replica can confirm it (it
        // has none until the old master is back) while REDIS_WAIT_REPLICAS=1.
        await load.waitFor('202s on the shards of the masters still up', () => {
          const shards = acceptedSince(failedOverAt);
          return [...Array(SHARDS).keys()].every((k) => orphaned.includes(k) || shards.has(k));
        });
        await load.waitFor('a publish refused for want of a replica', () =>
          load.requests.some(
            (r) => r.startedAt > failedOverAt && r.status === 503 && NOT_REPLICATED.test(r.detail),
          ),
        );
        // The operator (here the test) restarts the dead node: it rejoins as the new master's replica.
        await cluster.restart(master);
        restartedAt = Date.now();
        await load.waitFor(
          'a 202 on every shard once the replica is back',
          () => acceptedSince(restartedAt).size === SHARDS,
        );
        await load.acceptMore(30);
      } finally {
        await load.stop();
      }
      const answers = load.requests;
      const refused = answers.filter((r) => r.status !== 202);
      for (const r of refused) {
        expect(r.status, r.detail).toBe(503);
        expect(r.contentType).toContain('application/problem+json');
      }
      const slowest = Math.max(...answers.map((r) => r.ms));
      expect(slowest).toBeLessThan(PUBLISH_TIMEOUT_MS + 1000);

      const accepted = load.accepted;
      const { duplicates } = await expectAllDelivered(
        sink,
        accepted.map((r) => r.messageId!),
      );
      const phase = (from: number, to: number) =>
        accepted.filter((r) => r.startedAt >= from && r.startedAt < to).length;
      console.log(
        `master kill: failover in ${failedOverAt - killedAt} ms, replica back ${restartedAt - failedOverAt} ms later; ` +
          `${accepted.length} accepted (${phase(0, killedAt)} before the kill, ${phase(killedAt, failedOverAt)} during the failover, ` +
          `${phase(failedOverAt, restartedAt)} before the replica was back, ${phase(restartedAt, Infinity)} after), all delivered, ` +
          `${duplicates} twice; ${refused.length} refused with 503 (${refused.filter((r) => NOT_REPLICATED.test(r.detail)).length} for want of a replica); ` +
          `slowest answer ${slowest} ms`,
      );
      expect(api.process.running).toBe(true);
      for (const w of workers) expect(w.running).toBe(true);
    },
  );
});
