/** A page request: at most `limit` items after `cursor` (the `nextCursor` of the previous page). */
export interface PageRequest {
  limit?: number;
  cursor?: string | null;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

/** The limit to use, within 1..1000 (API.md), defaulting to 100. */
export function pageLimit(page: PageRequest | undefined): number {
  const limit = page?.limit;
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_PAGE_LIMIT;
  return Math.min(MAX_PAGE_LIMIT, Math.max(1, Math.floor(limit)));
}

/** Keyset cursor: every key is a non-empty string, so '' starts before the first row. */
export function pageCursor(page: PageRequest | undefined): string {
  return page?.cursor ?? '';
}

/**
 * Builds a page from rows fetched with `LIMIT limit + 1`: the extra row only says another page
 * exists, so the last page never ends with an empty follow-up.
 */
export function toPage<R, T>(
  rows: R[],
  limit: number,
  map: (row: R) => T,
  key: (item: T) => string,
): Page<T> {
  const items = rows.slice(0, limit).map(map);
  const nextCursor = rows.length > limit && items.length > 0 ? key(items[items.length - 1]) : null;
  return { items, nextCursor };
}
