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

/** Converts a result row in place to the shapes node-postgres returns. */
export function normalizeSqliteRow(row: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(row)) {
    const value = row[key];
    if (value === null) continue;
    if (typeof value === 'string') {
      if (JSON_COLUMNS.has(key)) row[key] = JSON.parse(value);
      else if (isTimeColumn(key)) row[key] = new Date(value);
    } else if (BOOLEAN_COLUMNS.has(key)) {
      row[key] = value === 1;
    }
  }
  return row;
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
