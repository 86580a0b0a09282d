import { describe, expect, it } from 'vitest';
import { classifyHttpStatus, describeError, parseRetryAfter } from './outcome';

describe('classifyHttpStatus', () => {
  it.each([
    [200, 'delivered', undefined],
    [201, 'delivered', undefined],
    [204, 'delivered', undefined],
    [299, 'delivered', undefined],
    [301, 'failed', undefined],
    [302, 'failed', undefined],
    [307, 'failed', undefined],
    [400, 'failed', undefined],
    [401, 'failed', undefined],
    [404, 'failed', undefined],
    [408, 'retry', undefined],
    [410, 'failed', 'disable'],
    [413, 'failed', undefined],
    [425, 'retry', undefined],
    [429, 'retry', undefined],
    [500, 'retry', undefined],
    [502, 'retry', undefined],
    [503, 'retry', undefined],
    [599, 'retry', undefined],
  ])('%i → %s', (status, result, action) => {
    const outcome = classifyHttpStatus(status);
    expect(outcome.result).toBe(result);
    expect(outcome.statusCode).toBe(status);
    expect(outcome.result === 'failed' ? outcome.action : undefined).toBe(action);
  });

  it('carries Retry-After of a retryable answer', () => {
    const outcome = classifyHttpStatus(503, '7');
    expect(outcome).toMatchObject({ result: 'retry', retryAfterMs: 7000 });
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it.each<[string | string[] | null | undefined, number | undefined]>([
    ['0', 0],
    ['120', 120_000],
    [' 5 ', 5000],
    [['3', '9'], 3000],
    ['Thu, 01 Jan 2026 00:00:30 GMT', 30_000],
    ['Wed, 31 Dec 2025 23:00:00 GMT', 0],
    ['soon', undefined],
    ['-5', undefined],
    ['1.5', undefined],
    [null, undefined],
    [undefined, undefined],
  ])('%j → %j', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});

describe('describeError', () => {
  it('names the code and bounds the text', () => {
    const err = Object.assign(new Error('connect refused'), { code: 'ECONNREFUSED' });
    expect(describeError(err)).toBe('ECONNREFUSED: connect refused');
    expect(describeError(new Error('x'.repeat(2000)))).toHaveLength(500);
    expect(describeError('plain')).toBe('plain');
  });
});
