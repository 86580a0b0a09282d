import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseSecretKey, SecretBox, SecretBoxError } from './secret-box';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));

  it('opens what it sealed, and seals the same text differently each time', () => {
    const a = box.seal('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'api-key:key_1');
    const b = box.seal('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'api-key:key_1');
    expect(a).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('wJalrXUtnFEMI');
    expect(box.open(a, 'api-key:key_1')).toBe('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
  });

  it.each<[string, (sealed: string) => [string, string]]>([
    ['another context', (s) => [s, 'api-key:key_2']],
    [
      'a flipped byte',
      (s) => [`${s.slice(0, -2)}${s.at(-2) === 'A' ? 'B' : 'A'}${s.at(-1)}`, 'api-key:key_1'],
    ],
    ['a truncated value', (s) => [s.slice(0, 20), 'api-key:key_1']],
    ['another version', (s) => [s.replace(/^v1/, 'v2'), 'api-key:key_1']],
    ['extra parts', (s) => [`${s}.x`, 'api-key:key_1']],
  ])('refuses %s', (_, tamper) => {
    const [sealed, context] = tamper(box.seal('secret', 'api-key:key_1'));
    expect(() => box.open(sealed, context)).toThrow(SecretBoxError);
  });

  it('does not open with another key, and says so without the secret', () => {
    const sealed = box.seal('top-secret', 'ctx');
    try {
      new SecretBox(randomBytes(32)).open(sealed, 'ctx');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(SecretBoxError);
      expect((err as Error).message).toMatch(/HERALD_SECRET_KEY/);
      expect((err as Error).message).not.toContain('top-secret');
    }
  });
});

describe('parseSecretKey', () => {
  const key = randomBytes(32);
  it.each<[string, string, Buffer | null]>([
    ['64 hex characters', key.toString('hex'), key],
    ['base64', key.toString('base64'), key],
    ['base64url', key.toString('base64url'), key],
    ['with spaces around', `  ${key.toString('hex')}\n`, key],
    ['16 bytes', randomBytes(16).toString('base64'), null],
    ['63 hex characters', key.toString('hex').slice(1), null],
    ['a passphrase', 'correct horse battery staple', null],
  ])('%s', (_, text, expected) => {
    expect(parseSecretKey(text)).toEqual(expected);
  });
});
