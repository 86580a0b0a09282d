import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

export const DEFAULT_URL = 'http://127.0.0.1:3000';

export interface Credentials {
  url: string;
  apiKey: string | undefined;
  /** Where the key came from, for messages: `HERALD_API_KEY` or the key file's path. */
  keySource: string | null;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * HERALD_URL and HERALD_API_KEY; without a key, for a Herald on this machine, the admin key `npm start`
 * generated: `<HERALD_DATA_DIR or ./.data>/admin-api-key`, then the checkout's own `.data` folder.
 */
export function resolveCredentials(env: NodeJS.ProcessEnv, cwd: string, checkout: string): Credentials {
  const url = (env.HERALD_URL || DEFAULT_URL).replace(/\/+$/, '');
  if (env.HERALD_API_KEY) return { url, apiKey: env.HERALD_API_KEY, keySource: 'HERALD_API_KEY' };
  let host = '';
  try {
    host = new URL(url).hostname;
  } catch {
    // a bad HERALD_URL is reported by the first request
  }
  if (!LOOPBACK.has(host)) return { url, apiKey: undefined, keySource: null };
  const dataDir = env.HERALD_DATA_DIR || '.data';
  const candidates = [
    join(isAbsolute(dataDir) ? dataDir : resolve(cwd, dataDir), 'admin-api-key'),
    join(checkout, '.data', 'admin-api-key'),
  ];
  for (const file of candidates) {
    if (existsSync(file)) return { url, apiKey: readFileSync(file, 'utf8').trim(), keySource: file };
  }
  return { url, apiKey: undefined, keySource: null };
}
