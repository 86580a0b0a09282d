import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, eventually, startHerald, type TestHerald } from '../support/herald';

/**
 * Two API processes on one PostgreSQL and one Redis: what one changes, the other's in-process caches
 * (API keys, subscriptions) must drop at once, through the change notices.
 */
describe('caches across API processes', () => {
  let a: TestHerald;
  let b: TestHerald;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    const shared = {
      DATABASE_URL: db.url,
      HERALD_QUEUE_PREFIX: `{c${randomBytes(4).toString('hex')}}`,
      HERALD_ROLES: 'api',
    };
    a = await startHerald('postgres', shared);
    b = await startHerald('postgres', shared);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await drop?.();
  });

  it('a key deleted through one process stops working in the other', async () => {
    const created = await a.request('POST', '/v1/api-keys', { name: 'shared', scopes: ['read'] });
    expect(created.status).toBe(201);
    // B learns the key (and caches it).
    expect((await b.request('GET', '/v1/topics', undefined, { key: created.body.key })).status).toBe(200);
    expect((await b.request('GET', '/v1/topics', undefined, { key: created.body.key })).status).toBe(200);
    expect((await a.request('DELETE', `/v1/api-keys/${created.body.id}`)).status).toBe(204);
    expect((await a.request('GET', '/v1/topics', undefined, { key: created.body.key })).status).toBe(401);
    await eventually(async () => {
      const res = await b.request('GET', '/v1/topics', undefined, { key: created.body.key });
      return res.status === 401;
    }, 'the other process to refuse the deleted key');
  });
});
