import { Catalog, type CatalogEvent } from '@herald/catalog';
import { deliveryIdFor, newId } from '@herald/core';
import { REDIS } from '@herald/runtime';
import type Redis from 'ioredis';
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import type { TestHerald } from './herald';

/** Real resources of one topic, for routes that take an id: what a request with a good id reaches. */
export interface TopicFixtures {
  topic: string;
  subscriptionId: string;
  messageId: string;
  deliveryId: string;
  deadLetterId: string;
}

/**
 * A topic with an active function subscription and a message whose delivery died: the message, its
 * delivery, attempt and dead letter are written through the catalog's own event writer (what the workers
 * would record), so that no worker needs to run and nothing changes behind a test's back.
 */
export async function seedTopic(herald: TestHerald, topic: string): Promise<TopicFixtures> {
  expect((await herald.request('POST', '/v1/topics', { name: topic })).status).toBe(201);
  const sub = await herald.request('POST', `/v1/topics/${topic}/subscriptions`, {
    protocol: 'function',
    endpoint: 'https://example.com/fixture',
  });
  expect(sub.status).toBe(201);
  const subscriptionId = sub.body.id as string;
  const messageId = newId('msg');
  const deliveryId = deliveryIdFor(messageId, subscriptionId);
  const deadLetterId = newId('dlq');
  const at = new Date().toISOString();
  const events: CatalogEvent[] = [
    {
      type: 'message',
      message: {
        id: messageId,
        topic,
        subject: 'fixture',
        body: { orderId: 1 },
        attributes: { store: 'berlin' },
        bodyByProtocol: {},
        publishedAt: at,
      },
      matched: 1,
      filteredOut: 0,
    },
    {
      type: 'deliveries',
      messageId,
      topic,
      items: [{ id: deliveryId, subscriptionId, protocol: 'function' }],
    },
    {
      type: 'attempt',
      deliveryId,
      messageId,
      subscriptionId,
      topic,
      protocol: 'function',
      run: 1,
      attempt: 1,
      at,
      durationMs: 5,
      outcome: 'failed',
      statusCode: 400,
      error: 'receiver answered 400',
      providerMessageId: null,
    },
    {
      type: 'dead',
      id: deadLetterId,
      deliveryId,
      run: 1,
      messageId,
      subscriptionId,
      topic,
      protocol: 'function',
      endpoint: 'https://example.com/fixture',
      attempts: 1,
      reason: 'receiver refused the message',
      lastError: 'receiver answered 400',
      lastStatusCode: 400,
      deadAt: at,
    },
  ];
  await herald.app.get(Catalog).applyEvents(events);
  return { topic, subscriptionId, messageId, deliveryId, deadLetterId };
}

/** Every table a catalog may have: a catalog that keeps attempts in their delivery's row has no `attempts`. */
const TABLES = ['topics', 'subscriptions', 'api_keys', 'messages', 'deliveries', 'attempts', 'dead_letters'];
const MISSING_TABLE = /no such table|does not exist/i;

/**
 * A fingerprint of everything Herald keeps: every catalog row, and the keys under its Redis prefix. Equal
 * before and after a request means the request changed nothing.
 */
export async function stateOf(herald: TestHerald): Promise<string> {
  const catalog = herald.app.get(Catalog);
  const hash = createHash('sha256');
  for (const table of TABLES) {
    let rows: unknown[];
    try {
      ({ rows } = await catalog.sql.query(`SELECT * FROM ${table} ORDER BY 1`));
    } catch (err) {
      if (MISSING_TABLE.test(String(err))) continue;
      throw err;
    }
    hash.update(table).update(JSON.stringify(rows));
  }
  const redis = herald.app.get<Redis>(REDIS);
  // BullMQ writes each queue's `meta` key on first use, whatever the request: not Herald's state.
  const keys = (await redis.keys(`${herald.config.queuePrefix}*`)).filter((k) => !k.endsWith(':meta'));
  hash.update(keys.sort().join('\n'));
  return hash.digest('hex');
}
