import { describe, expect, it } from 'vitest';
import { checkEmailAddress } from './email-address';

describe('checkEmailAddress', () => {
  it.each([
    ['alice@example.com', 'alice@example.com'],
    ['Alice.Smith+tag@Example.COM', 'Alice.Smith+tag@example.com'],
    ['  bob@mail.example.org  ', 'bob@mail.example.org'],
    ["o'brien@example.ie", "o'brien@example.ie"],
    ['x@a-b.co', 'x@a-b.co'],
    ['user@xn--bcher-kva.example', 'user@xn--bcher-kva.example'],
    ['user@Bücher.example', 'user@xn--bcher-kva.example'],
    [`${'a'.repeat(64)}@example.com`, `${'a'.repeat(64)}@example.com`],
  ])('accepts %j as %j', (input, normalised) => {
    expect(checkEmailAddress(input)).toEqual({ ok: true, endpoint: normalised });
  });

  it.each([
    ['', 'empty'],
    ['alice', 'no @'],
    ['alice@', 'no domain'],
    ['@example.com', 'no local part'],
    ['a@b@example.com', 'two @'],
    ['alice@localhost', 'single-label domain'],
    ['alice@example', 'single-label domain'],
    ['alice@127.0.0.1', 'IP address'],
    ['alice@[127.0.0.1]', 'address literal'],
    ['Alice <alice@example.com>', 'display name'],
    ['alice@example.com, bob@example.com', 'a list'],
    ['alice@example.com\r\nBcc: eve@example.com', 'header injection'],
    ['ali ce@example.com', 'space'],
    ['.alice@example.com', 'leading dot'],
    ['alice.@example.com', 'trailing dot'],
    ['al..ice@example.com', 'double dot'],
    ['"alice"@example.com', 'quoted local part'],
    ['alice@-example.com', 'label starting with a hyphen'],
    ['alice@example-.com', 'label ending with a hyphen'],
    ['alice@exa_mple.com', 'underscore in domain'],
    ['alice@example..com', 'empty label'],
    [`${'a'.repeat(65)}@example.com`, 'local part over 64'],
    [`a@${'b'.repeat(64)}.com`, 'label over 63'],
    [
      `${'a'.repeat(64)}@${Array.from({ length: 4 }, () => 'c'.repeat(60)).join('.')}.com`,
      'over 254 in total',
    ],
    ['mailto:alice@example.com', 'a mailto URI'],
  ])('rejects %j (%s)', (input) => {
    const result = checkEmailAddress(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).not.toBe('');
  });

  it('rejects values that are not strings', () => {
    expect(checkEmailAddress(42).ok).toBe(false);
    expect(checkEmailAddress(null).ok).toBe(false);
  });
});
