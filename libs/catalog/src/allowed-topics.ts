/**
 * ` AND <column> IN ($n, …)` for a key limited to `allowed` topics, its names appended to `params`;
 * '' for a key without a limit. Plain placeholders, so the same SQL runs on every catalog dialect.
 */
export function allowedTopicsClause(
  column: string,
  allowed: readonly string[] | null | undefined,
  params: unknown[],
): string {
  if (allowed === null || allowed === undefined) return '';
  if (allowed.length === 0) return ' AND 1 = 0';
  const first = params.length + 1;
  params.push(...allowed);
  return ` AND ${column} IN (${allowed.map((_, i) => `$${first + i}`).join(', ')})`;
}
