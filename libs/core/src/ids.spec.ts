import { describe, expect, it } from 'vitest';
import {
  deliveryIdFor,
  deliveryIdRange,
  idAt,
  idTime,
  messageShard,
  newId,
  newMessageId,
  ulid,
  ulidTime,
} from './ids';

describe('ids', () => {
  it('are time-ordered ULIDs without dots or colons', () => {
    const ids = Array.from({ length: 2000 }, () => newId('msg'));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids.slice(0, 50)) expect(id).toMatch(/^msg_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(ulid(0) < ulid(1)).toBe(true);
  });

  it('steps the 80 random bits by one within a millisecond', () => {
    const decode = (chars: string): bigint =>
      [...chars].reduce((v, c) => v * 32n + BigInt('0123456789ABCDEFGHJKMNPQRSTVWXYZ'.indexOf(c)), 0n);
    const now = Date.now() + 1000;
    const ids = Array.from({ length: 500 }, () => ulid(now));
    for (let i = 1; i < ids.length; i++) {
      expect(ids[i].slice(0, 10)).toBe(ids[0].slice(0, 10));
      expect(decode(ids[i].slice(10)) - decode(ids[i - 1].slice(10))).toBe(1n);
    }
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

describe('times from ids', () => {
  const DAY = Date.UTC(2025, 2, 30);
  it.each([0, 1, 31, 32, DAY, DAY - 1, 1_700_000_000_123, 2 ** 48 - 1])('idTime(ulid at %d)', (ms) => {
    expect(idTime(`msg_${ulid(ms)}`)?.getTime()).toBe(ms);
    expect(ulid(ms).slice(0, 10)).toBe(ulidTime(ms));
  });

  it('gives a delivery the time of its message', () => {
    const message = `msg_${ulid(DAY + 5)}`;
    const subscription = `sub_${ulid(DAY - 86_400_000)}`;
    expect(idTime(deliveryIdFor(message, subscription))?.getTime()).toBe(DAY + 5);
  });

  it.each([
    'msg_1',
    'dlv_',
    'msg_01jd0000000000000000000000',
    'msg_81JD0000000000000000000000',
    '01JD0000000000000000000000',
  ])('has no time for %s', (id) => {
    expect(idTime(id)).toBeNull();
  });

  it('bounds the ids made in a time range', () => {
    const from = idAt('msg', DAY);
    const to = idAt('msg', DAY + 86_400_000);
    const inside = [ulid(DAY), ulid(DAY + 1), ulid(DAY + 86_399_999)].map((u) => `msg_${u}`);
    const outside = [ulid(DAY - 1), ulid(DAY + 86_400_000)].map((u) => `msg_${u}`);
    for (const id of inside) expect(id >= from && id < to).toBe(true);
    for (const id of outside) expect(id >= from && id < to).toBe(false);
  });

  it('bounds the deliveries of one message', () => {
    const message = `msg_${ulid(DAY)}`;
    const next = `msg_${ulid(DAY)}`; // the same millisecond: the next ULID
    const { from, to } = deliveryIdRange(message);
    const mine = deliveryIdFor(message, newId('sub'));
    const theirs = deliveryIdFor(next, newId('sub'));
    expect(mine >= from && mine < to).toBe(true);
    expect(theirs >= from && theirs < to).toBe(false);
  });
});
