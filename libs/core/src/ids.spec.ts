import { describe, expect, it } from 'vitest';
import { deliveryIdFor, messageShard, newId, newMessageId, ulid } from './ids';

describe('ids', () => {
  it('are time-ordered ULIDs without dots or colons', () => {
    const ids = Array.from({ length: 2000 }, () => newId('msg'));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids.slice(0, 50)) expect(id).toMatch(/^msg_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(ulid(0) < ulid(1)).toBe(true);
  });

  it('derives one delivery id per (message, subscription)', () => {
    const m = newId('msg');
    const s = newId('sub');
    expect(deliveryIdFor(m, s)).toBe(deliveryIdFor(m, s));
    expect(deliveryIdFor(m, s)).not.toBe(deliveryIdFor(m, newId('sub')));
    expect(deliveryIdFor(m, s)).toMatch(/^dlv_[0-9A-Z]{52}$/);
  });

  it('names the shard of a message in its id, and stays unique and ordered within a millisecond', () => {
    const now = Date.now();
    const ids = Array.from({ length: 3000 }, (_, i) => newMessageId(i % 7, now));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.map((id) => messageShard(id, 7))).toEqual(ids.map((_, i) => i % 7));
    const sameShard = ids.filter((_, i) => i % 7 === 3);
    expect([...sameShard].sort()).toEqual(sameShard);
    for (const id of ids.slice(0, 20)) expect(id).toMatch(/^msg_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(newMessageId(1023).endsWith('ZZ')).toBe(true);
    expect(messageShard(newMessageId(900), 1)).toBe(0);
    expect(() => newMessageId(1024)).toThrow(RangeError);
  });
});
