import { deliveryIdFor, newId, newMessageId } from '@herald/core';
import { describe, expect, it } from 'vitest';
import type { RedisClient } from './redis-connection';
import { shardPrefix, Shards } from './shards';

/** Shards whose pure parts are tested: no command is sent in these tests. */
const shards = (n: number) => new Shards({} as RedisClient, '{herald}', n);

describe('shards', () => {
  it.each([
    ['{herald}', 0, '{herald}'],
    ['{herald}', 3, '{herald-3}'],
    ['prod:{herald}', 2, 'prod:{herald-2}'],
    ['herald', 1, '{herald-1}'],
  ])('prefix of %s shard %i is %s', (base, index, expected) => {
    expect(shardPrefix(base, index)).toBe(expected);
  });

  it('finds a message on the shard its id names, and its deliveries and their events with it', () => {
    const s = shards(5);
    const id = newMessageId(3);
    expect(s.ofMessage(id).index).toBe(3);
    const delivery = deliveryIdFor(id, newId('sub'));
    expect(s.ofEvent({ type: 'cancelled', deliveryId: delivery, run: 1, reason: 'x' })?.index).toBe(3);
    expect(s.ofEvent({ type: 'deliveries', messageId: id, topic: 't', items: [] })?.index).toBe(3);
    expect(
      s.ofEvent({ type: 'provider-status', providerMessageId: 'SM1', update: { status: 'delivered' } }),
    ).toBeNull();
  });

  it('sends a key to the same shard every time and spreads keys over all of them', () => {
    const s = shards(4);
    expect(s.byHash('orders\u0000key-1')).toBe(s.byHash('orders\u0000key-1'));
    const seen = new Set(Array.from({ length: 200 }, (_, i) => s.byHash(`k${i}`).index));
    expect(seen).toEqual(new Set([0, 1, 2, 3]));
    const turns = Array.from({ length: 8 }, () => s.rotate().index);
    expect(turns).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
  });

  it('is one shard with the base prefix by default', () => {
    const s = shards(1);
    expect(s.all.map((x) => x.prefix)).toEqual(['{herald}']);
    expect(s.ofMessage(newId('msg')).index).toBe(0);
  });
});
