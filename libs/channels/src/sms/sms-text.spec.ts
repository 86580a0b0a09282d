import { describe, expect, it } from 'vitest';
import { SMS_MAX_LENGTH, smsText } from './sms-text';

const message = (over: {
  subject?: string | null;
  body?: unknown;
  bodyByProtocol?: Record<string, unknown>;
}) => ({
  subject: null,
  body: '',
  bodyByProtocol: {},
  ...over,
});

describe('smsText', () => {
  it.each([
    [
      'subject and body on two lines',
      { subject: 'Order shipped', body: 'Parcel 42 left' },
      'Order shipped\nParcel 42 left',
    ],
    ['body alone without a subject', { body: 'Parcel 42 left' }, 'Parcel 42 left'],
    ['subject alone when the body is empty', { subject: 'Ping', body: '' }, 'Ping'],
    ['JSON bodies pretty-printed', { body: { id: 42 } }, '{\n  "id": 42\n}'],
    [
      'bodyByProtocol.sms instead of subject and body',
      { subject: 'S', body: 'B', bodyByProtocol: { sms: 'Short' } },
      'Short',
    ],
    ['bodyByProtocol.sms JSON as text', { body: 'B', bodyByProtocol: { sms: { n: 1 } } }, '{\n  "n": 1\n}'],
    ['another protocol’s body ignored', { body: 'B', bodyByProtocol: { email: 'E' } }, 'B'],
  ])('%s', (_name, over, expected) => {
    expect(smsText(message(over))).toBe(expected);
  });

  it('keeps a body of exactly 1,600 characters whole', () => {
    const body = 'x'.repeat(SMS_MAX_LENGTH);
    expect(smsText(message({ body }))).toBe(body);
  });

  it('cuts a longer body to 1,600 characters ending with an ellipsis', () => {
    const text = smsText(message({ body: 'y'.repeat(5000) }));
    expect(text).toHaveLength(SMS_MAX_LENGTH);
    expect(text.endsWith('y…')).toBe(true);
  });

  it('never splits a surrogate pair when cutting', () => {
    // 1598 ASCII characters put an emoji's high surrogate exactly at the last kept position.
    const body = 'a'.repeat(SMS_MAX_LENGTH - 2) + '😀'.repeat(10);
    const text = smsText(message({ body }));
    expect(text).toBe('a'.repeat(SMS_MAX_LENGTH - 2) + '…');
    expect(text.length).toBeLessThanOrEqual(SMS_MAX_LENGTH);
    expect(() => encodeURIComponent(text)).not.toThrow();
  });

  it('keeps an emoji that fits whole', () => {
    const body = 'a'.repeat(SMS_MAX_LENGTH - 3) + '😀'.repeat(10);
    expect(smsText(message({ body }))).toBe('a'.repeat(SMS_MAX_LENGTH - 3) + '😀…');
  });
});
