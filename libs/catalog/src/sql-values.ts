import type { SqlDialect } from './sql-client';

/**
 * JSON text for a `$n::text::jsonb` parameter, or null for SQL NULL. PostgreSQL's jsonb rejects
 * `\u0000` and unpaired surrogates, which JSON.stringify can emit; one bad string would otherwise fail
 * a whole batch, so they become U+FFFD. (An escaped backslash before `u0000` is left alone.)
 */
export function jsonParam(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const text = JSON.stringify(value);
  // The scrub is a regex over the whole text; most texts have no \u escape at all.
  if (!text.includes('\\u')) return text;
  return text.replace(/(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/gi, '$1\\ufffd');
}

/** Text for a text column: PostgreSQL text cannot hold NUL characters. */
export function textParam(value: string | null | undefined): string | null {
  if (value === undefined || value === null) return null;
  return value.includes('\u0000') ? value.replaceAll('\u0000', '\ufffd') : value;
}

/** A timestamp parameter as an ISO string, which both drivers pass through unchanged. */
export function timeParam(value: Date | string | null | undefined): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : value.toISOString();
}

/** The error code of a database error (SQLSTATE), if any. */
export function sqlState(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

export const FOREIGN_KEY_VIOLATION = '23503';

/** A column of a JSON recordset: its name and its PostgreSQL type (`jsonb` columns stay JSON). */
export type RecordsetColumn = readonly [name: string, pgType: 'text' | 'int' | 'timestamptz' | 'jsonb'];

/**
 * A FROM item `x` expanding the JSON array parameter `param` (a `jsonParam` text) into rows with the
 * given columns: jsonb_to_recordset on PostgreSQL, json_each on SQLite. This is how the batch writer
 * sends a thousand rows in one statement on either engine.
 */
export function recordset(dialect: SqlDialect, param: string, columns: readonly RecordsetColumn[]): string {
  if (dialect === 'postgres') {
    const defs = columns.map(([name, type]) => `${name} ${type}`).join(', ');
    return `jsonb_to_recordset(${param}::text::jsonb) AS x(${defs})`;
  }
  const fields = columns
    .map(([name, type]) => `value ${type === 'jsonb' ? '->' : '->>'} '${name}' AS ${name}`)
    .join(', ');
  return `(SELECT ${fields} FROM json_each(${param})) AS x`;
}

/**
 * A FROM item `x` over parallel array parameters, one per column, from `$from` on: PostgreSQL's
 * `unnest`, whose row count the planner reads off the arrays (jsonb_to_recordset is always guessed
 * at 100 rows, which can make it rescan the recordset once per table row). `columnArrays` makes the
 * parameters.
 */
export function unnestColumns(columns: readonly RecordsetColumn[], from: number): string {
  const arrays = columns.map(([, type], i) => `$${from + i}::${type}[]`).join(', ');
  return `unnest(${arrays}) AS x(${columns.map(([name]) => name).join(', ')})`;
}

/**
 * The parameters of `unnestColumns`: one PostgreSQL array literal per column, of the `rowValues` of
 * each row. Written here rather than left to node-postgres, which escapes every element with two regex
 * replaces (about 9 % of the workers' thread's allocations in a one-subscriber profile: JSON elements
 * are full of quotes); this escapes only the elements that need it, in one pass.
 */
export function columnArrays(
  rows: ReadonlyArray<Readonly<Record<string, unknown>>>,
  columns: readonly RecordsetColumn[],
): string[] {
  return columns.map((column) => pgArrayLiteral(rows.map((row) => columnValue(row, column))));
}

const NEEDS_ESCAPE = /["\\]/;
const ESCAPED = /["\\]/g;

/**
 * A PostgreSQL array literal (`{"a","b\"c",NULL,3}`) of text, numbers, booleans or nulls: each text
 * element quoted, its `"` and `\` escaped with a backslash, as PostgreSQL's array input reads them.
 */
export function pgArrayLiteral(values: readonly unknown[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const value = values[i];
    if (value === null || value === undefined) out += 'NULL';
    else if (typeof value === 'number' || typeof value === 'boolean') out += String(value);
    else if (typeof value === 'string')
      out += NEEDS_ESCAPE.test(value) ? `"${value.replace(ESCAPED, '\\$&')}"` : `"${value}"`;
    else
      throw new TypeError(
        `array parameters hold text, numbers and nulls, not values of type ${typeof value}`,
      );
  }
  return out + '}';
}

/**
 * The values of `row` in `columns` order, as positional parameters of one statement per row (what
 * SQLite writes in place of a recordset): the same text the recordset would carry, so both engines
 * store the same thing: JSON columns as JSON text (`null` for null), NUL-free text.
 */
export function rowValues(
  row: Readonly<Record<string, unknown>>,
  columns: readonly RecordsetColumn[],
): unknown[] {
  return columns.map((column) => columnValue(row, column));
}

function columnValue(row: Readonly<Record<string, unknown>>, [name, type]: RecordsetColumn): unknown {
  const value = row[name];
  if (type === 'jsonb') return jsonParam(value) ?? 'null';
  return type === 'text' && typeof value === 'string' ? textParam(value) : value;
}
