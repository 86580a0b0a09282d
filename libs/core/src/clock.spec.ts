import { describe, expect, it } from 'vitest';
import { isoTime } from './clock';

describe('isoTime', () => {
  it('formats each millisecond as Date#toISOString does, asked in any order', () => {
    const times = [0, 1_765_000_000_000, 1_765_000_000_000, 1_765_000_000_001, 1_765_000_000_000, 86_399_999];
    for (const ms of times) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });

  it('is now when asked without a time', () => {
    const before = Date.now();
    const at = Date.parse(isoTime());
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(Date.now());
  });

  it('refuses a time Date cannot format, every time it is asked', () => {
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
  });
});
