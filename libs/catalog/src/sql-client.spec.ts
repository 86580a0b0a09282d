import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from './catalog';
import { BACKENDS, openTestCatalog, uniqueName, type TestCatalog } from './catalog-test-support';

describe.each(BACKENDS)('SqlClient.queryEach on %s', (backend) => {
  let t: TestCatalog;
  let catalog: Catalog;
  const insert = `INSERT INTO topics (name, description) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING
    RETURNING name`;
  const names = (rows: Array<{ name: string }>) => rows.map((r) => r.name);

  beforeAll(async () => {
    t = await openTestCatalog(backend);
    catalog = t.catalog;
  });
  afterAll(() => t.dispose());

  it('runs the statement once per parameter list, in order, and returns the rows of all of them', async () => {
    const [a, b, c] = [uniqueName('each'), uniqueName('each'), uniqueName('each')];
    const first = await catalog.sql.queryEach<{ name: string }>(insert, [
      [a, 'first'],
      [b, null],
    ]);
    expect(names(first.rows)).toEqual([a, b]);
    expect(first.rowCount).toBe(2);
    // A conflict returns nothing for its row; the others still run.
    const second = await catalog.sql.queryEach<{ name: string }>(insert, [
      [b, 'again'],
      [c, 'third'],
    ]);
    expect(names(second.rows)).toEqual([c]);
    const updated = await catalog.sql.queryEach(`UPDATE topics SET description = $2 WHERE name = $1`, [
      [a, 'one'],
      [b, 'two'],
      [uniqueName('missing'), 'none'],
    ]);
    expect(updated.rowCount).toBe(2);
    const { rows } = await catalog.sql.query<{ name: string; description: string | null }>(
      `SELECT name, description FROM topics WHERE name = ANY($1::text[]) ORDER BY name`,
      [[a, b, c]],
    );
    expect(rows).toEqual(
      [
        { name: a, description: 'one' },
        { name: b, description: 'two' },
        { name: c, description: 'third' },
      ].sort((x, y) => (x.name < y.name ? -1 : 1)),
    );
    expect((await catalog.sql.queryEach(insert, [])).rows).toEqual([]);
  });

  it('inside a transaction, a failing run rolls back the runs before it with the rest of the transaction', async () => {
    const [a, b] = [uniqueName('each'), uniqueName('each')];
    const failed = catalog.sql.transaction(async (tx) => {
      await tx.queryEach(insert, [[a, 'kept?']]);
      // The second run breaks the primary key after the first one wrote its row.
      await tx.queryEach(`INSERT INTO topics (name, description) VALUES ($1, $2)`, [
        [b, 'written'],
        [b, 'breaks'],
      ]);
    });
    await expect(failed).rejects.toMatchObject({ code: '23505' });
    const { rows } = await catalog.sql.query(`SELECT name FROM topics WHERE name = ANY($1::text[])`, [
      [a, b],
    ]);
    expect(rows).toEqual([]);
  });
});

describe.each(BACKENDS)('SqlClient rows on %s', (backend) => {
  let t: TestCatalog;

  beforeAll(async () => {
    t = await openTestCatalog(backend);
  });
  afterAll(() => t.dispose());

  it('reads the columns a statement has now, after the table changed since it last ran', async () => {
    const table = uniqueName('rows').replace(/-/g, '_');
    const sql = t.catalog.sql;
    await sql.exec(`CREATE TABLE ${table} (id TEXT PRIMARY KEY, metadata jsonb)`);
    await sql.query(`INSERT INTO ${table} (id, metadata) VALUES ($1, $2::text::jsonb)`, ['a', '{"k":1}']);
    const select = `SELECT * FROM ${table} ORDER BY id`;
    expect((await sql.query(select)).rows).toEqual([{ id: 'a', metadata: { k: 1 } }]);
    await sql.query(`ALTER TABLE ${table} ADD COLUMN created_at timestamptz`);
    await sql.query(`UPDATE ${table} SET created_at = $1`, ['2030-01-02T03:04:05.006Z']);
    expect((await sql.query(select)).rows).toEqual([
      { id: 'a', metadata: { k: 1 }, created_at: new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 6)) },
    ]);
  });
});
