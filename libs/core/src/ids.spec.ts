import { describe, expect, it } from 'vitest';
import { deliveryIdFor, newId, ulid } from './ids';

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
});
