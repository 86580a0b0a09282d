import { describe, expect, it } from 'vitest';
import { SnsArns } from './arns';

const arns = new SnsArns({ region: 'us-east-1', accountId: '000000000000' });
const SUB = 'sub_01JD0000000000000000000000';

describe('SnsArns', () => {
  it('makes topic and subscription ARNs', () => {
    expect(arns.topic('orders')).toBe('arn:aws:sns:us-east-1:000000000000:orders');
    expect(arns.subscription('orders', SUB)).toBe(`arn:aws:sns:us-east-1:000000000000:orders:${SUB}`);
  });

  it.each<[string, ReturnType<SnsArns['parseTopic']>]>([
    ['arn:aws:sns:us-east-1:000000000000:orders', { ok: true, value: 'orders' }],
    ['arn:aws:sns:us-east-1:000000000000:a_b-C9', { ok: true, value: 'a_b-C9' }],
    ['arn:aws:sns:eu-west-1:000000000000:orders', { ok: false, reason: 'the region is not us-east-1' }],
    ['arn:aws:sns:us-east-1:123456789012:orders', { ok: false, reason: 'the account is not 000000000000' }],
    [
      'arn:aws:sns:us-east-1:000000000000:orders.fifo',
      { ok: false, reason: 'FIFO topics are not supported' },
    ],
    ['arn:aws:sns:us-east-1:000000000000:or ders', { ok: false, reason: 'the topic name is not valid' }],
    ['arn:aws:sns:us-east-1:000000000000:', { ok: false, reason: 'the topic name is not valid' }],
    ['arn:aws:sqs:us-east-1:000000000000:orders', { ok: false, reason: 'not an SNS ARN' }],
    [`arn:aws:sns:us-east-1:000000000000:orders:${SUB}`, { ok: false, reason: 'not an SNS ARN' }],
    ['orders', { ok: false, reason: 'not an SNS ARN' }],
  ])('parses topic ARN %s', (arn, expected) => {
    expect(arns.parseTopic(arn)).toEqual(expected);
  });

  it.each<[string, ReturnType<SnsArns['parseSubscription']>]>([
    [`arn:aws:sns:us-east-1:000000000000:orders:${SUB}`, { ok: true, value: { topic: 'orders', id: SUB } }],
    [
      'arn:aws:sns:us-east-1:000000000000:orders:0c7f1bd4-2a55-4b4c-8a51-e3a4c8a8b2a1',
      { ok: false, reason: 'not a subscription ARN of this server' },
    ],
    [
      `arn:aws:sns:us-west-2:000000000000:orders:${SUB}`,
      { ok: false, reason: 'the region is not us-east-1' },
    ],
    ['arn:aws:sns:us-east-1:000000000000:orders', { ok: false, reason: 'not an SNS ARN' }],
    ['pending confirmation', { ok: false, reason: 'not an SNS ARN' }],
  ])('parses subscription ARN %s', (arn, expected) => {
    expect(arns.parseSubscription(arn)).toEqual(expected);
  });
});
