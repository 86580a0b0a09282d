import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTopic, deliveryOf, publish, settledCounts, subscribe } from '../support/herald-api';
import {
  expectAllDelivered,
  HeraldFleet,
  killWorkerMidFlight,
  PublishLoad,
  type ApiProcess,
} from '../support/herald-fleet';
import { heraldRequester } from '../support/herald';
import type { HeraldProcess } from '../support/herald-process';

/**
 * Many processes on one Redis and PostgreSQL, no cluster: two API processes that need no sticky
 * sessions, and two worker processes of which one is killed mid-flight.
 */
describe('two API and two worker processes on one Redis (PostgreSQL)', () => {
  let fleet: HeraldFleet;
  let a: ApiProcess;
  let b: ApiProcess;
  let workers: HeraldProcess[];

  beforeAll(async () => {
    fleet = await HeraldFleet.start({
      REDIS_URL: inject('redisUrl'),
      HERALD_QUEUE_PREFIX: `{mp${randomBytes(4).toString('hex')}}`,
    });
    [a, b] = await Promise.all([fleet.api(), fleet.api()]);
    // The workers' links (confirmation URLs) name B, as they would name a load balancer.
    workers = await Promise.all([fleet.worker(b.url), fleet.worker(b.url)]);
  }, 180_000);
  afterAll(async () => {
    await fleet?.stop();
  });

  const receiver = () => fleet.receiver();

  it('needs no sticky sessions: what one API process made, the other reads, confirms and publishes to', async () => {
    const sink = await receiver();
    await createTopic(a, 'alternate');
    expect((await b.request('GET', '/v1/topics/alternate')).status).toBe(200);

    // Subscribed on A; its confirmation link names B, and B confirms it.
    const created = await subscribe(a, 'alternate', {
      protocol: 'webhook',
      endpoint: sink.urlFor('127.0.0.1', '/hook'),
      deliveryPolicy: { minDelayMs: 200, maxDelayMs: 1000 },
    });
    expect(created.status).toBe('pending');
    const confirmation = JSON.parse((await sink.next()).body);
    expect(confirmation.confirmUrl.startsWith(b.url)).toBe(true);
    expect((await fetch(confirmation.confirmUrl, { headers: { accept: 'application/json' } })).status).toBe(
      200,
    );
    expect((await b.request('GET', `/v1/subscriptions/${created.id}`)).body.status).toBe('active');
    expect((await a.request('GET', `/v1/subscriptions/${created.id}`)).body.status).toBe('active');

    // A key made on B works on A at once; a key deleted on A stops working on B at once.
    const key = await b.request('POST', '/v1/api-keys', { name: 'publisher', scopes: ['publish', 'read'] });
    expect(key.status).toBe(201);
    const asPublisher = { key: key.body.key as string };
    const viaKey = await a.request('POST', '/v1/topics/alternate/messages', { body: 'by key' }, asPublisher);
    expect(viaKey.status).toBe(202);
    expect(
      (await b.request('GET', `/v1/messages/${viaKey.body.messageId}`, undefined, asPublisher)).status,
    ).toBe(200);
    expect((await a.request('DELETE', `/v1/api-keys/${key.body.id}`)).status).toBe(204);
    expect((await b.request('GET', '/v1/topics', undefined, asPublisher)).status).toBe(401);

    // Publishes alternate between A and B; each message is read back from the other process.
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await publish(i % 2 ? b : a, 'alternate', { body: { i } }));
    await expectAllDelivered(sink, [viaKey.body.messageId, ...ids]);
    for (const [i, id] of ids.entries()) {
      const other = i % 2 ? a : b;
      const delivery = await deliveryOf(other, id, 'delivered');
      expect(delivery.attempts).toHaveLength(1);
      expect(await settledCounts(other, id)).toMatchObject({
        matched: 1,
        delivered: 1,
        pending: 0,
        failed: 0,
      });
    }
  });

  it(
    'kill -9 of one of two workers mid-flight: the other takes its jobs over, every 202 is delivered',
    { timeout: 120_000 },
    async () => {
      const sink = await receiver();
      // 1 s an answer: both workers always have deliveries in flight.
      sink.answerByDefault({ status: 200, delayMs: 1000 });
      await createTopic(a, 'crash');
      const sub = await subscribe(a, 'crash', {
        protocol: 'webhook',
        endpoint: sink.urlFor('127.0.0.1', '/hook'),
        skipConfirmation: true,
        deliveryPolicy: { maxAttempts: 10, minDelayMs: 200, maxDelayMs: 1000 },
      });
      const load = new PublishLoad([a.url, b.url], 'crash', { concurrency: 4, timeoutMs: 10_000 });
      const [victim, survivor] = workers;
      const { accepted, abandoned, duplicates } = await killWorkerMidFlight(load, sink, victim);
      expect(survivor.running).toBe(true);
      console.log(
        `worker kill on one Redis: ${accepted.length} accepted, all delivered; ${abandoned} in flight in the killed worker, ${duplicates} delivered twice`,
      );
      // The catalog agrees: every delivery of the subscription ended delivered.
      const api = heraldRequester(b.url);
      const statuses = new Map<string, string>();
      let cursor: string | null = null;
      do {
        const page = await api(
          'GET',
          `/v1/subscriptions/${sub.id}/deliveries?limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
        );
        for (const d of page.body.items as Array<{ messageId: string; status: string }>)
          statuses.set(d.messageId, d.status);
        cursor = page.body.nextCursor as string | null;
      } while (cursor);
      for (const id of accepted) {
        if (statuses.get(id) !== 'delivered') await deliveryOf(b, id, 'delivered');
      }
    },
  );
});
