import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from './catalog';
import { createTestDatabase, type TestDatabase } from './catalog-test-support';
import { migrate } from './migrate';
import { MIGRATIONS } from './migrations';

describe('Catalog.locate', () => {
  it.each([
    ['postgres://u:p@db:5432/herald', { driver: 'postgres', url: 'postgres://u:p@db:5432/herald' }],
    ['postgresql://db/herald', { driver: 'postgres', url: 'postgresql://db/herald' }],
    ['memory://', { driver: 'pglite', folder: null }],
    ['/var/lib/herald/catalog', { driver: 'pglite', folder: '/var/lib/herald/catalog' }],
    [pathToFileURL('/srv/catalog').href, { driver: 'pglite', folder: '/srv/catalog' }],
  ])('%s', (url, expected) => {
    expect(Catalog.locate(url)).toEqual(expected);
  });

  it('resolves a relative folder against the working directory', () => {
    expect(Catalog.locate('./.data/catalog')).toEqual({
      driver: 'pglite',
      folder: join(process.cwd(), '.data/catalog'),
    });
  });
});

describe('Catalog on PostgreSQL', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('migrates once when two processes start together, then opens again without changes', async () => {
    const [a, b] = await Promise.all([Catalog.open(db.url), Catalog.open(db.url)]);
    try {
      expect(a.driver).toBe('postgres');
      const { rows } = await a.sql.query<{ version: number }>(
        'SELECT version FROM herald_migrations ORDER BY version',
      );
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
      await a.topics.create({ name: 'survives-reopen' });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
    const again = await Catalog.open(db.url);
    try {
      expect(await migrate(again.sql)).toEqual([]);
      expect(await again.topics.get('survives-reopen')).not.toBeNull();
      await expect(again.ping()).resolves.toBeUndefined();
    } finally {
      await again.close();
      await again.close();
    }
  });

  it('fails to open with a message that names the server but not the password', async () => {
    const url = new URL(db.url);
    url.username = 'nobody';
    url.password = 's3cret-pw';
    url.pathname = '/no_such_database_here';
    const err = await Catalog.open(url.toString()).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(
      /^Cannot connect to PostgreSQL at 127\.0\.0\.1:\d+\/no_such_database_here: /,
    );
    expect(err?.message).not.toContain('s3cret-pw');
  });
});

describe('Catalog on PGlite', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'herald-catalog-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps data in its folder across opens and applies migrations only once', async () => {
    const folder = join(dir, 'catalog');
    const first = await Catalog.open(folder);
    expect(first.driver).toBe('pglite');
    await first.topics.create({ name: 'persisted' });
    await first.close();

    const second = await Catalog.open(folder);
    try {
      expect(await migrate(second.sql)).toEqual([]);
      expect(await second.topics.get('persisted')).not.toBeNull();
      await expect(second.ping()).resolves.toBeUndefined();
    } finally {
      await second.close();
    }
  });

  it('applies only the migrations it has not applied yet, and refuses a newer schema', async () => {
    const catalog = await Catalog.open('memory://');
    try {
      const extended = [...MIGRATIONS, 'CREATE TABLE extra (x integer)'];
      expect(await migrate(catalog.sql, extended)).toEqual([MIGRATIONS.length + 1]);
      expect(await migrate(catalog.sql, extended)).toEqual([]);
      await expect(migrate(catalog.sql, MIGRATIONS)).rejects.toThrow(/newer than this Herald/);
    } finally {
      await catalog.close();
    }
  });

  it('rolls a failing migration back entirely', async () => {
    const catalog = await Catalog.open('memory://');
    try {
      const broken = [...MIGRATIONS, 'CREATE TABLE half (x integer); SELECT no_such_function();'];
      await expect(migrate(catalog.sql, broken)).rejects.toThrow();
      const { rows } = await catalog.sql.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'half'",
      );
      expect(rows[0].n).toBe(0);
      expect(await migrate(catalog.sql)).toEqual([]);
    } finally {
      await catalog.close();
    }
  });
});
