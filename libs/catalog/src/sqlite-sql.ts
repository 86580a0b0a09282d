/**
 * What the SQLite driver does so that the repositories' PostgreSQL-flavoured SQL runs unchanged on the
 * embedded catalog: a few spellings are rewritten, parameters and result columns are converted to the
 * forms node-postgres uses. Statements the engines cannot share are written twice instead (see
 * `SqlClient.dialect`); these rules cover only the common ground.
 */

const ISO_NOW = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;

/** Rewrites PostgreSQL-only spellings into SQLite's. Pure; cached per statement by the driver. */
export function toSqliteSql(text: string): string {
  return (
    text
      // `x = ANY($1::text[])`: the array parameter arrives as JSON text (see toSqliteParam).
      .replace(/=\s*ANY\s*\(\s*(\$\d+)(?:::[a-z]+\[\])?\s*\)/gi, 'IN (SELECT value FROM json_each($1))')
      .replace(/\bIS\s+NOT\s+DISTINCT\s+FROM\b/gi, 'IS')
      .replace(/\bIS\s+DISTINCT\s+FROM\b/gi, 'IS NOT')
      .replace(/\bnow\(\)/gi, ISO_NOW)
      // Two-argument max/min are SQLite's scalar GREATEST/LEAST.
      .replace(/\bGREATEST\(/g, 'max(')
      .replace(/\bLEAST\(/g, 'min(')
      .replace(/\s+FOR\s+UPDATE(\s+SKIP\s+LOCKED)?/gi, '')
      // Casts: SQLite's columns are dynamically typed and its JSON lives in TEXT.
      .replace(/::[a-z_]+(\[\])?/gi, '')
  );
}

/** A parameter as SQLite takes it: no booleans, no arrays or objects (JSON text), dates as ISO. */
export function toSqliteParam(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value) || (typeof value === 'object' && !Buffer.isBuffer(value)))
    return JSON.stringify(value);
  return value;
}

/** Columns holding JSON (jsonb or text[] on PostgreSQL): node-postgres parses them, so parse them here. */
const JSON_COLUMNS = new Set([
  'filter_policy',
  'delivery_policy',
  'metadata',
  'body',
  'body_by_protocol',
  'attributes',
  'scopes',
  'topics',
  'attempts',
]);
const BOOLEAN_COLUMNS = new Set(['raw_delivery']);
/** Timestamps are ISO text in SQLite; node-postgres returns Dates for timestamptz. */
const isTimeColumn = (name: string) => name.endsWith('_at');

const fromJson = (value: unknown): unknown => (typeof value === 'string' ? JSON.parse(value) : value);
const fromTime = (value: unknown) => (typeof value === 'string' ? new Date(value) : value);
const fromBoolean = (value: unknown) => (value === null ? null : value === 1);

/** How a column's value is converted: by the name of the column, as node-postgres types it. */
function conversionOf(name: string): 'fromJson' | 'fromTime' | 'fromBoolean' | null {
  if (JSON_COLUMNS.has(name)) return 'fromJson';
  if (BOOLEAN_COLUMNS.has(name)) return 'fromBoolean';
  return isTimeColumn(name) ? 'fromTime' : null;
}

export type SqliteRowReader = (values: readonly unknown[]) => Record<string, unknown>;

/**
 * Makes a result row, as better-sqlite3's raw mode returns it (the values in column order), into the
 * object node-postgres would return: JSON columns parsed, booleans and times made, the rest as is.
 * Compiled once per statement into one object literal: building rows this way takes under half the
 * time better-sqlite3's own row objects take, and result rows are the embedded catalog's hot path (a
 * fan-out page, a delivery batch's subscriptions). Column names are quoted with JSON.stringify, so any
 * name is safe; a repeated name keeps its last value, as in a row object.
 */
export function sqliteRowReader(columns: readonly string[]): SqliteRowReader {
  const fields = columns.map((name, i) => {
    const conversion = conversionOf(name);
    const value = conversion ? `${conversion}(v[${i}])` : `v[${i}]`;
    // `__proto__:` in a literal would set the prototype; a computed key makes it a plain property.
    return `${name === '__proto__' ? `[${JSON.stringify(name)}]` : JSON.stringify(name)}: ${value}`;
  });
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from quoted column names only
  const make = new Function(
    'fromJson',
    'fromTime',
    'fromBoolean',
    `return (v) => ({ ${fields.join(', ')} });`,
  ) as (...conversions: Array<(value: unknown) => unknown>) => SqliteRowReader;
  return make(fromJson, fromTime, fromBoolean);
}

/** SQLite's extended result codes for constraint failures, as the SQLSTATEs the repositories check. */
const SQLSTATE_OF: Record<string, string> = {
  SQLITE_CONSTRAINT_FOREIGNKEY: '23503',
  SQLITE_CONSTRAINT_UNIQUE: '23505',
  SQLITE_CONSTRAINT_PRIMARYKEY: '23505',
  SQLITE_CONSTRAINT_NOTNULL: '23502',
  SQLITE_CONSTRAINT_CHECK: '23514',
};

/** An error whose `code` is the SQLSTATE PostgreSQL would give (when there is one). */
export function toSqlError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const code = (err as { code?: unknown }).code;
  const state = typeof code === 'string' ? SQLSTATE_OF[code] : undefined;
  if (!state) return err;
  return Object.assign(new Error(err.message), { code: state, sqliteCode: code });
}
