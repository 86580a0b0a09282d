import type { HeraldConfig } from '@herald/config';
import { parseSecretKey, SecretBox } from '@herald/core';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

export const SECRET_KEY_FILE = 'secret-key';

/**
 * The SecretBox of HERALD_SECRET_KEY, else of the key kept in `<data>/secret-key`, made on first start
 * (like the admin key). Processes that share a catalog but not a data folder need HERALD_SECRET_KEY.
 */
export function openSecretBox(config: Pick<HeraldConfig, 'secretKey' | 'dataDir'>, log?: Logger): SecretBox {
  if (config.secretKey) return new SecretBox(config.secretKey);
  const file = join(config.dataDir, SECRET_KEY_FILE);
  mkdirSync(config.dataDir, { recursive: true });
  try {
    // 'wx': of two processes starting on one folder, one writes and the other reads what it wrote.
    writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    log?.warn(
      { file },
      'generated the key that seals stored secrets; keep the file, or set HERALD_SECRET_KEY',
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const key = parseSecretKey(readFileSync(file, 'utf8'));
  if (!key) throw new Error(`${file} holds no 32-byte key (64 hex characters or base64)`);
  return new SecretBox(key);
}
