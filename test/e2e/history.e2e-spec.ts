import { Catalog, partitionName } from '@herald/catalog';
import { deliveryIdFor, newId, ulid } from '@herald/core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, eventually, startHerald, type TestHerald } from '../support/herald';

const DAY_MS = 86_400_000;

/** A message made `daysAgo` days ago with one delivered delivery, recorded straight into the catalog. */
async function recordOld(
  catalog: Catalog,
  daysAgo: number,
): Promise<{ messageId: string; deliveryId: string }> {
  const at = Date.now() - daysAgo * DAY_MS;
  const messageId = `msg_${ulid(at)}`;
  const subscriptionId = newId('sub');
  await catalog.topics.create({ name: 'history' });
  await catalog.applyEvents([
    {
      type: 'message',
      message: {
        id: messageId,
        topic: 'history',
        subject: null,
        body: 'old news',
        attributes: {},
        bodyByProtocol: {},
        publishedAt: new Date(at).toISOString(),
      },
      matched: 1,
      filteredOut: 0,
      deliveries: [{ subscriptionId, protocol: 'webhook' }],
    },
  ]);
  return { messageId, deliveryId: deliveryIdFor(messageId, subscriptionId) };
}

/** The retention runs in Herald's own processes, with no cron: at start, then hourly. */
describe('history retention in a running Herald', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('the one-process Herald deletes what is older than RETENTION_DAYS from its embedded catalog', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'herald-history-'));
    cleanups.push(() => rmSync(folder, { recursive: true, force: true }));
    const before = await Catalog.open(folder);
    const old = await recordOld(before, 12);
    const young = await recordOld(before, 5);
    await before.close();

    const herald: TestHerald = await startHerald('sqlite', { DATABASE_URL: folder, RETENTION_DAYS: '10' });
    cleanups.push(() => herald.close());
    await eventually(
      async () => (await herald.request('GET', `/v1/messages/${old.messageId}`)).status === 404,
      'the 12-day-old message to be deleted',
    );
    expect((await herald.request('GET', `/v1/deliveries/${old.deliveryId}`)).status).toBe(404);
    expect((await herald.request('GET', `/v1/messages/${young.messageId}`)).status).toBe(200);
  });

  it('a worker process on PostgreSQL makes the partitions of the coming week', async () => {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const lastDay = partitionName('deliveries', Math.floor(Date.now() / DAY_MS) * DAY_MS + 7 * DAY_MS);
    const setup = await Catalog.open(db.url, { poolSize: 1 });
    await setup.sql.exec(`DROP TABLE ${lastDay}`);
    await setup.close();

    const herald = await startHerald('postgres', { DATABASE_URL: db.url, HERALD_ROLES: 'worker,api' });
    cleanups.push(() => herald.close());
    const catalog = await Catalog.open(db.url, { poolSize: 1 });
    cleanups.push(() => catalog.close());
    await eventually(async () => {
      const { rows } = await catalog.sql.query<{ present: boolean }>(
        'SELECT to_regclass($1) IS NOT NULL AS present',
        [lastDay],
      );
      return rows[0]?.present;
    }, `${lastDay} to be made again`);
  });
});
