import { createApiApp, ensureAdminKey } from '../../apps/api/src/bootstrap';
import { createHeraldClient, type HeraldClient } from '@herald/client';
import { loadConfig, type HeraldConfig } from '@herald/config';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes } from 'node:crypto';
import pino, { type Logger } from 'pino';
import { Client } from 'pg';
import { inject, vi } from 'vitest';
import { freePort } from './servers';

export type CatalogKind = 'sqlite' | 'postgres';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';

/** A fresh database on the test PostgreSQL server; dropped by the returned function. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const serverUrl = inject('postgresUrl');
  const name = `herald_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked field by field in tests
type Json = any;

export interface TestHerald {
  app: NestFastifyApplication;
  config: HeraldConfig;
  url: string;
  /** The typed client (`@herald/client`) with the admin key, or with another key. */
  client: HeraldClient;
  clientWith(key: string): HeraldClient;
  /** fetch against the API with the admin key (or another key). */
  request(
    method: string,
    path: string,
    body?: unknown,
    opts?: { key?: string | null; headers?: Record<string, string>; raw?: string },
  ): Promise<{ status: number; body: Json; headers: Headers; text: string }>;
  close(): Promise<void>;
}

/** A way to call one Herald's API: the in-process TestHerald, or a Herald child process. */
export type HeraldEndpoint = Pick<TestHerald, 'request' | 'client' | 'clientWith'>;

/** fetch and the typed client for the Herald API at `url`, with the admin key (or another key). */
export function heraldEndpoint(url: string, timeoutMs?: number): HeraldEndpoint {
  return {
    request: heraldRequester(url, timeoutMs),
    client: createHeraldClient({ baseUrl: url, apiKey: ADMIN_KEY }),
    clientWith: (key) => createHeraldClient({ baseUrl: url, apiKey: key }),
  };
}

/**
 * `request` for the Herald API at `url`: fetch with the admin key (or another key, or none), the
 * answer's JSON parsed when it is JSON. `timeoutMs` aborts a request that takes longer.
 */
export function heraldRequester(url: string, timeoutMs?: number): TestHerald['request'] {
  return async (method, path, body, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    const key = opts.key === undefined ? ADMIN_KEY : opts.key;
    if (key) headers.authorization = `Bearer ${key}`;
    let payload: string | undefined = opts.raw;
    if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] ??= 'application/json';
    }
    const signal = timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined;
    const res = await fetch(url + path, { method, headers, body: payload, signal });
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed, headers: res.headers, text };
  };
}

export interface StartHeraldOptions {
  /** Herald's logger (default: pino at LOG_LEVEL, silent unless TEST_LOG_LEVEL says otherwise). */
  logger?: Logger;
  /** A built console to serve at /console/. */
  consoleDir?: string;
}

/**
 * Boots Herald in this process (API + workers) against the test Redis (a private key prefix) and the
 * chosen catalog (SQLite in memory, or a fresh PostgreSQL database). `env` overrides any setting; an
 * `env.DATABASE_URL` is used as given (the caller owns it) instead of a fresh database.
 */
export async function startHerald(
  kind: CatalogKind,
  env: Record<string, string> = {},
  options: StartHeraldOptions = {},
): Promise<TestHerald> {
  const db = kind === 'postgres' && !env.DATABASE_URL ? await createTestDatabase() : null;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = ensureAdminKey(
    loadConfig({
      REDIS_URL: inject('redisUrl'),
      DATABASE_URL: db ? db.url : 'memory://',
      ADMIN_API_KEY: ADMIN_KEY,
      HERALD_QUEUE_PREFIX: `{t${randomBytes(4).toString('hex')}}`,
      OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8,::1/128',
      HERALD_DATA_DIR: `/tmp/herald-test-${randomBytes(4).toString('hex')}`,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      WEBHOOK_HEADERS_TIMEOUT_MS: '2000',
      WEBHOOK_BODY_TIMEOUT_MS: '2000',
      PORT: String(port),
      PUBLIC_BASE_URL: url,
      // In this process, from the sources: the workers run on the API's event loop (the thread entry
      // is built code; test/support/herald-process.ts runs the built Herald, with its worker thread).
      HERALD_WORKER_THREADS: '0',
      ...env,
    }),
  ).config;
  const logger = options.logger ?? pino({ level: config.logLevel });
  const app = await createApiApp(config, logger, { consoleDir: options.consoleDir });
  await app.listen({ port, host: '127.0.0.1' });
  return {
    app,
    config,
    url,
    client: createHeraldClient({ baseUrl: url, apiKey: ADMIN_KEY }),
    clientWith: (key) => createHeraldClient({ baseUrl: url, apiKey: key }),
    request: heraldRequester(url),
    async close() {
      await app.close();
      await db?.drop();
    },
  };
}

/** Waits (vitest's vi.waitFor) until `probe` returns a value other than undefined/false. */
export async function eventually<T>(
  probe: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  return vi.waitFor(
    async () => {
      const v = await probe();
      if (v === undefined || v === false) throw new Error(`still waiting for ${what}`);
      return v;
    },
    { timeout: timeoutMs, interval: 25 },
  );
}
