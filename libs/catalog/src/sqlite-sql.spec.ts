import { describe, expect, it } from 'vitest';
import { sqliteRowReader, toSqliteParam, toSqliteSql, toSqlError } from './sqlite-sql';

describe('toSqliteSql', () => {
  it.each([
    [
      'SELECT * FROM t WHERE id = ANY($1::text[])',
      'SELECT * FROM t WHERE id IN (SELECT value FROM json_each($1))',
    ],
    ['WHERE status = ANY($3)', 'WHERE status IN (SELECT value FROM json_each($3))'],
    ['VALUES ($1, $2::text::jsonb, $3::timestamptz)', 'VALUES ($1, $2, $3)'],
    ['count(*)::int AS n', 'count(*) AS n'],
    ["metadata jsonb NOT NULL DEFAULT '{}'::jsonb", "metadata jsonb NOT NULL DEFAULT '{}'"],
    ['a IS NOT DISTINCT FROM $2 AND b IS DISTINCT FROM $3', 'a IS $2 AND b IS NOT $3'],
    ['SET updated_at = now()', "SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"],
    ['ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED', 'ORDER BY id LIMIT $3'],
    ['ORDER BY id FOR UPDATE', 'ORDER BY id'],
    ['SET run = GREATEST(d.run, excluded.run)', 'SET run = max(d.run, excluded.run)'],
  ])('%s', (pg, sqlite) => {
    expect(toSqliteSql(pg)).toBe(sqlite);
  });
});

describe('toSqliteParam', () => {
  it.each([
    [true, 1],
    [false, 0],
    [null, null],
    [undefined, null],
    [['a', 'b'], '["a","b"]'],
    [{ a: 1 }, '{"a":1}'],
    [new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 6)), '2030-01-02T03:04:05.006Z'],
    ['text', 'text'],
    [42, 42],
  ])('%j', (value, expected) => {
    expect(toSqliteParam(value)).toEqual(expected);
  });
});

describe('sqliteRowReader', () => {
  /** A row object read back from its column names and values, as the driver reads a raw row. */
  const read = (row: Record<string, unknown>) => sqliteRowReader(Object.keys(row))(Object.values(row));

  it('parses JSON columns, makes booleans and times, leaves the rest', () => {
    expect(
      read({
        metadata: '{"a":1}',
        scopes: '["admin"]',
        topics: null,
        body: '"plain"',
        raw_delivery: 1,
        created_at: '2030-01-02T03:04:05.006Z',
        confirmed_at: null,
        attempts: 3,
        name: 'x',
      }),
    ).toEqual({
      metadata: { a: 1 },
      scopes: ['admin'],
      topics: null,
      body: 'plain',
      raw_delivery: true,
      created_at: new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 6)),
      confirmed_at: null,
      attempts: 3,
      name: 'x',
    });
    expect(read({ raw_delivery: 0 })).toEqual({ raw_delivery: false });
    expect(read({ raw_delivery: null })).toEqual({ raw_delivery: null });
  });

  it('takes any column name as a plain property, and the last of a repeated name', () => {
    const names = ['count(*)', 'QUERY PLAN', 'a"b', 'back\\slash', '__proto__', 'id', 'id'];
    const row = sqliteRowReader(names)([1, 'plan', 'q', 's', 'p', 'first', 'second']);
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(Object.entries(row)).toEqual([
      ['count(*)', 1],
      ['QUERY PLAN', 'plan'],
      ['a"b', 'q'],
      ['back\\slash', 's'],
      ['__proto__', 'p'],
      ['id', 'second'],
    ]);
  });
});

describe('toSqlError', () => {
  it('gives constraint failures the SQLSTATE PostgreSQL would', () => {
    const fk = Object.assign(new Error('FOREIGN KEY constraint failed'), {
      code: 'SQLITE_CONSTRAINT_FOREIGNKEY',
    });
    expect(toSqlError(fk)).toMatchObject({ code: '23503', message: 'FOREIGN KEY constraint failed' });
    const other = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
    expect(toSqlError(other)).toBe(other);
  });
});
