import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from 'pg';
import { Catalog } from './catalog';
import { createTestDatabase, type TestDatabase } from './catalog-test-support';
import { migrate } from './migrate';
import { migrationsFor } from './migrations';

const PG_MIGRATIONS = migrationsFor('postgres');
const SQLITE_MIGRATIONS = migrationsFor('sqlite');

describe('Catalog.locate', () => {
  it.each([
    ['postgres://u:p@db:5432/herald', { driver: 'postgres', url: 'postgres://u:p@db:5432/herald' }],
    ['postgresql://db/herald', { driver: 'postgres', url: 'postgresql://db/herald' }],
    ['memory://', { driver: 'sqlite', folder: null }],
    ['/var/lib/herald/catalog', { driver: 'sqlite', folder: '/var/lib/herald/catalog' }],
    [pathToFileURL('/srv/catalog').href, { driver: 'sqlite', folder: '/srv/catalog' }],
  ])('%s', (url, expected) => {
    expect(Catalog.locate(url)).toEqual(expected);
  });

  it('resolves a relative folder against the working directory', () => {
    expect(Catalog.locate('./.data/catalog')).toEqual({
      driver: 'sqlite',
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
      expect(rows.map((r) => r.version)).toEqual(PG_MIGRATIONS.map((_, i) => i + 1));
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

  it('moves the attempts of a 0.1 catalog into their deliveries (migration 2)', async () => {
    const old = await createTestDatabase();
    try {
      const pool = new Pool({ connectionString: old.url });
      try {
        const { PgSqlDatabase } = await import('./pg-sql-database');
        const sql = await PgSqlDatabase.connect(old.url, 1);
        await migrate(sql, PG_MIGRATIONS.slice(0, 1));
        await sql.close();
        await pool.query(
          `INSERT INTO deliveries (id, message_id, subscription_id, topic, protocol, status, attempt_count, run,
             last_attempt) VALUES ('dlv_1', 'msg_1', 'sub_1', 't', 'webhook', 'dead', 2, 1, 2)`,
        );
        await pool.query(
          `INSERT INTO attempts (delivery_id, run, attempt, at, duration_ms, outcome, status_code, error,
             delivery_status)
           VALUES ('dlv_1', 1, 2, '2030-01-01T00:00:02.5Z', 9, 'retry', 503, 'exhausted', 'dead'),
                  ('dlv_1', 1, 1, '2030-01-01T00:00:01Z', 7, 'retry', 503, 'busy', 'retrying')`,
        );
      } finally {
        await pool.end();
      }
      const catalog = await Catalog.open(old.url);
      try {
        const delivery = await catalog.deliveries.get('dlv_1');
        expect(delivery?.attempts).toEqual([
          {
            number: 1,
            run: 1,
            at: new Date('2030-01-01T00:00:01Z'),
            durationMs: 7,
            outcome: 'retry',
            statusCode: 503,
            error: 'busy',
            // A 0.1 catalog recorded no receiver answers.
            response: null,
          },
          // The exhausted last attempt says what happened.
          {
            number: 2,
            run: 1,
            at: new Date('2030-01-01T00:00:02.5Z'),
            durationMs: 9,
            outcome: 'failed',
            statusCode: 503,
            error: 'exhausted',
            response: null,
          },
        ]);
      } finally {
        await catalog.close();
      }
    } finally {
      await old.drop();
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

describe('Catalog on SQLite (the embedded catalog)', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'herald-catalog-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps data in its folder across opens and applies migrations only once', async () => {
    const folder = join(dir, 'catalog');
    const first = await Catalog.open(folder);
    expect(first.driver).toBe('sqlite');
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
      const extended = [...SQLITE_MIGRATIONS, 'CREATE TABLE extra (x integer)'];
      expect(await migrate(catalog.sql, extended)).toEqual([SQLITE_MIGRATIONS.length + 1]);
      expect(await migrate(catalog.sql, extended)).toEqual([]);
      await expect(migrate(catalog.sql, SQLITE_MIGRATIONS)).rejects.toThrow(/newer than this Herald/);
    } finally {
      await catalog.close();
    }
  });

  it('refuses, saying why, a folder that holds a Herald 0.1 (PGlite) catalog', async () => {
    const folder = join(dir, 'old');
    mkdirSync(folder);
    writeFileSync(join(folder, 'PG_VERSION'), '17\n');
    await expect(Catalog.open(folder)).rejects.toThrow(/Herald 0\.1 \(PGlite\).*now SQLite/);
  });

  it('rolls a failing migration back entirely', async () => {
    const catalog = await Catalog.open('memory://');
    try {
      const broken = [...SQLITE_MIGRATIONS, 'CREATE TABLE half (x integer); SELECT no_such_function();'];
      await expect(migrate(catalog.sql, broken)).rejects.toThrow();
      const { rows } = await catalog.sql.query<{ n: number }>(
        "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'half'",
      );
      expect(rows[0].n).toBe(0);
      expect(await migrate(catalog.sql)).toEqual([]);
    } finally {
      await catalog.close();
    }
  });
});
