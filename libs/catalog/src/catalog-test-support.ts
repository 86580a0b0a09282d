import { randomBytes } from 'node:crypto';
import { deliveryParts, newId, type MessagePayload, type Protocol } from '@herald/core';
import { Client } from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { Catalog } from './catalog';
import type { AttemptEvent } from './catalog-event';
import type { CreateSubscriptionInput } from './catalog-types';
import type { SqlClient } from './sql-client';

/** Test helpers shared by the catalog's spec files (not exported from the library). */

export type Backend = 'sqlite' | 'postgres';
export const BACKENDS: Backend[] = ['sqlite', 'postgres'];

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

async function asAdmin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: inject('postgresUrl') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh, empty PostgreSQL database on the test server, dropped by `drop()`. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `herald_${randomBytes(6).toString('hex')}`;
  await asAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(inject('postgresUrl'));
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => asAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

export interface TestCatalog {
  catalog: Catalog;
  dispose(): Promise<void>;
}

/** A migrated catalog on the given backend: SQLite in memory, or a fresh PostgreSQL database. */
export async function openTestCatalog(backend: Backend): Promise<TestCatalog> {
  if (backend === 'sqlite') {
    const catalog = await Catalog.open('memory://');
    return { catalog, dispose: () => catalog.close() };
  }
  const db = await createTestDatabase();
  const catalog = await Catalog.open(db.url, { poolSize: 4 });
  return {
    catalog,
    dispose: async () => {
      await catalog.close();
      await db.drop();
    },
  };
}

/** A test catalog opened before the suite's tests and disposed of after them; call the result to get it. */
export function catalogForSuite(backend: Backend): () => Catalog {
  let t: TestCatalog | null = null;
  beforeAll(async () => {
    t = await openTestCatalog(backend);
  });
  afterAll(() => t?.dispose());
  return () => {
    if (!t) throw new Error('the test catalog is opened in beforeAll');
    return t.catalog;
  };
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export function subscriptionInput(
  topic: string,
  overrides: Partial<CreateSubscriptionInput> & { protocol?: Protocol } = {},
): CreateSubscriptionInput {
  const id = overrides.id ?? newId('sub');
  return {
    id,
    topic,
    protocol: 'webhook',
    endpoint: `https://example.com/hooks/${id}`,
    status: 'active',
    secret: 'whsec_dGVzdA==',
    unsubscribeToken: `unsub-${id}`,
    ...overrides,
  };
}

export function messagePayload(topic: string, overrides: Partial<MessagePayload> = {}): MessagePayload {
  return {
    id: newId('msg'),
    topic,
    subject: 'Order shipped',
    body: { orderId: 42, items: ['a', 'b'] },
    attributes: { kind: 'order', amount: 12.5 },
    bodyByProtocol: { sms: 'Order 42 shipped' },
    publishedAt: new Date().toISOString(),
    ...overrides,
  };
}

/** Attempt `n` of `run` of a delivery: a 503 to retry unless `over` says otherwise; identity from the id. */
export function attemptEvent(
  deliveryId: string,
  run: number,
  n: number,
  over: Partial<AttemptEvent> = {},
): AttemptEvent {
  const parts = deliveryParts(deliveryId);
  return {
    type: 'attempt',
    deliveryId,
    messageId: parts?.messageId ?? newId('msg'),
    subscriptionId: parts?.subscriptionId ?? newId('sub'),
    topic: 'unknown-topic',
    protocol: 'webhook',
    run,
    attempt: n,
    at: new Date(Date.UTC(2030, 0, 1, 0, run, n)).toISOString(),
    durationMs: 10 + n,
    outcome: 'retry',
    statusCode: 503,
    error: `receiver answered 503 (attempt ${n})`,
    providerMessageId: null,
    ...over,
  };
}

/**
 * `client` as is, noting each statement it runs (once per parameter list), inside transactions too:
 * for tests that check which statements a repository or the writer runs against a real catalog.
 */
export function statementSpy(
  client: SqlClient,
  /** Runs on the same connection before each statement (for instance to EXPLAIN it). */
  before?: (inner: SqlClient, text: string, params: readonly unknown[]) => Promise<void>,
): {
  spy: SqlClient;
  statements: Array<[text: string, params: readonly unknown[]]>;
} {
  const statements: Array<[string, readonly unknown[]]> = [];
  const wrap = (inner: SqlClient): SqlClient => ({
    dialect: inner.dialect,
    query: async (text, params = []) => {
      statements.push([text, params]);
      await before?.(inner, text, params);
      return inner.query(text, params);
    },
    queryEach: (text, paramLists) => {
      for (const params of paramLists) statements.push([text, params]);
      return inner.queryEach(text, paramLists);
    },
    exec: (text) => inner.exec(text),
    transaction: (fn, options) => inner.transaction((tx) => fn(wrap(tx)), options),
  });
  return { spy: wrap(client), statements };
}
