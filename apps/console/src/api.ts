/** The console's only way to Herald: the public /v1 API (and the dashboard session), with the key held in sessionStorage. */

const KEY_STORAGE = 'herald.apiKey';

export const storedKey = (): string | null => sessionStorage.getItem(KEY_STORAGE);
export const storeKey = (key: string): void => sessionStorage.setItem(KEY_STORAGE, key);
export const forgetKey = (): void => sessionStorage.removeItem(KEY_STORAGE);

export interface FieldError {
  field: string;
  message: string;
}

/** A problem+json answer (or a network failure) as something to show. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors: FieldError[] = [],
  ) {
    super(message);
  }
}

let onUnauthorized: () => void = () => undefined;
/** What to do when the key stops working mid-session (it was deleted): back to the sign-in page. */
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const key = storedKey();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'Herald did not answer. Is it running?');
  }
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  if (!res.ok) {
    const problem = (parsed ?? {}) as { detail?: string; title?: string; errors?: FieldError[] };
    if (res.status === 401 && key) onUnauthorized();
    throw new ApiError(
      res.status,
      problem.detail ?? problem.title ?? `Herald answered ${res.status}.`,
      problem.errors ?? [],
    );
  }
  return parsed as T;
}

export const enc = encodeURIComponent;

export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Every item of a paged list (for "Redrive all": what the filter shows, all pages). */
export async function allPages<T>(path: string, params: Record<string, string | undefined>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<T> = await api<Page<T>>('GET', path + query({ ...params, limit: 1000, cursor }));
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

/** Runs `work` over `items`, `width` at a time, calling `progress` after each. */
export async function eachLimited<T>(
  items: T[],
  width: number,
  work: (item: T) => Promise<void>,
  progress: (done: number) => void,
): Promise<void> {
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++];
      await work(item);
      progress(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}
