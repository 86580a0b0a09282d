import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSecretBox, SECRET_KEY_FILE } from './secret-key';

const folder = () => mkdtempSync(join(tmpdir(), 'herald-secret-'));

describe('openSecretBox', () => {
  it('uses HERALD_SECRET_KEY and writes no file', () => {
    const dataDir = folder();
    const key = randomBytes(32);
    const sealed = openSecretBox({ secretKey: key, dataDir }).seal('s', 'c');
    expect(openSecretBox({ secretKey: key, dataDir: folder() }).open(sealed, 'c')).toBe('s');
    expect(() => statSync(join(dataDir, SECRET_KEY_FILE))).toThrow();
  });

  it('without it, makes a key file once (owner-only) and keeps using it', () => {
    const dataDir = join(folder(), 'nested');
    const sealed = openSecretBox({ secretKey: null, dataDir }).seal('secret', 'ctx');
    const file = join(dataDir, SECRET_KEY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const written = readFileSync(file, 'utf8');
    expect(openSecretBox({ secretKey: null, dataDir }).open(sealed, 'ctx')).toBe('secret');
    expect(readFileSync(file, 'utf8')).toBe(written);
  });

  it('refuses a key file that holds no key', () => {
    const dataDir = folder();
    writeFileSync(join(dataDir, SECRET_KEY_FILE), 'not a key\n');
    expect(() => openSecretBox({ secretKey: null, dataDir })).toThrow(/holds no 32-byte key/);
  });
});
