import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  checkSigningSecret,
  generateSigningSecret,
  signatureHeader,
  signPayload,
  verifySignature,
} from './signing';

describe('Standard Webhooks signing', () => {
  const secret = generateSigningSecret();
  const id = 'msg_01JD0000000000000000000000';
  const ts = Math.floor(Date.now() / 1000);
  const body = JSON.stringify({ hello: 'world', n: 1 });

  it('makes whsec_ secrets of 32 random bytes', () => {
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(generateSigningSecret()).not.toBe(secret);
  });

  it('is accepted by the official standardwebhooks verifier', () => {
    const headers = {
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signPayload(secret, id, ts, body),
    };
    expect(new Webhook(secret).verify(body, headers)).toEqual({ hello: 'world', n: 1 });
  });

  it('signs with every active secret, and each verifies on its own', () => {
    const other = generateSigningSecret();
    const header = signatureHeader([secret, other], id, ts, body);
    expect(header.split(' ')).toHaveLength(2);
    for (const s of [secret, other]) {
      expect(() =>
        new Webhook(s).verify(body, {
          'webhook-id': id,
          'webhook-timestamp': String(ts),
          'webhook-signature': header,
        }),
      ).not.toThrow();
    }
  });

  it.each([
    ['another body', body + ' ', id, ts],
    ['another id', body, id + 'x', ts],
    ['another timestamp', body, id, ts + 1],
  ])('rejects %s', (_what, b, i, t) => {
    const header = signPayload(secret, id, ts, body);
    expect(verifySignature(secret, header, i, t, b)).toBe(false);
  });

  it('verifies its own signature', () => {
    expect(verifySignature(secret, signPayload(secret, id, ts, body), id, ts, body)).toBe(true);
    expect(verifySignature(generateSigningSecret(), signPayload(secret, id, ts, body), id, ts, body)).toBe(
      false,
    );
  });
});

describe('checkSigningSecret', () => {
  it.each([
    ['a generated secret', generateSigningSecret(), true],
    ['24 bytes', `whsec_${Buffer.alloc(24, 1).toString('base64')}`, true],
    ['64 bytes', `whsec_${Buffer.alloc(64, 2).toString('base64')}`, true],
    ['23 bytes', `whsec_${Buffer.alloc(23, 1).toString('base64')}`, false],
    ['65 bytes', `whsec_${Buffer.alloc(65, 1).toString('base64')}`, false],
    ['no prefix', Buffer.alloc(32, 1).toString('base64'), false],
    ['not base64', `whsec_${'!'.repeat(44)}`, false],
    ['base64url', `whsec_${Buffer.alloc(32, 255).toString('base64url')}`, false],
    ['missing padding', `whsec_${Buffer.alloc(25, 1).toString('base64').replace(/=+$/, '')}`, false],
    ['empty', 'whsec_', false],
  ])('%s', (_, secret, ok) => {
    expect(checkSigningSecret(secret) === null).toBe(ok);
  });
});
