import { LRUCache } from 'lru-cache';

export interface RefreshingCacheOptions<V> {
  /** How long a loaded value is served without reading it again. */
  freshMs: number;
  /** The most entries kept (least recently used go first). */
  max?: number;
  /** Or a budget in units of `sizeOf`. */
  maxSize?: number;
  sizeOf?: (value: V) => number;
  /** Told when a background refresh fails (the stale value keeps serving). */
  onRefreshError?: (key: string, err: unknown) => void;
}

interface Entry<V> {
  value: V;
  loadedAt: number;
}

/**
 * A cache in front of a store that can be slow or down (the catalog): a fresh value is served from
 * memory; a stale one is served at once while one load refreshes it in the background, and keeps
 * serving when that load fails; a missing one is loaded, once however many callers ask at the same
 * time. `invalidate` drops what changed, and no load that began before it stores what it read, nor
 * is joined by a caller who asks after it. A load answering `undefined` stores nothing (an unknown
 * key stays unknown, to be asked again).
 */
export class RefreshingCache<V extends object | string | null> {
  private readonly entries: LRUCache<string, Entry<V>>;
  private readonly inFlight = new Map<string, { epoch: number; promise: Promise<V | undefined> }>();
  private epoch = 0;

  constructor(private readonly options: RefreshingCacheOptions<V>) {
    const sizeOf = options.sizeOf;
    this.entries = new LRUCache<string, Entry<V>>(
      options.maxSize !== undefined && sizeOf
        ? { maxSize: options.maxSize, sizeCalculation: (e) => Math.max(1, sizeOf(e.value)) }
        : { max: options.max ?? 10_000 },
    );
  }

  /** The value of `key`: fresh from memory, stale while refreshing, or loaded now. */
  async get(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const hit = this.entries.get(key);
    if (hit && Date.now() - hit.loadedAt < this.options.freshMs) return hit.value;
    const loading = this.load(key, load);
    if (!hit) return loading;
    loading.catch((err: unknown) => this.options.onRefreshError?.(key, err));
    return hit.value;
  }

  /** What memory holds for `key`, and whether it is due a refresh; no load. */
  peek(key: string): { value: V; stale: boolean } | undefined {
    const hit = this.entries.get(key);
    return hit && { value: hit.value, stale: Date.now() - hit.loadedAt >= this.options.freshMs };
  }

  /**
   * Loads `key` (one load per key at a time) and stores the result unless an invalidation came since.
   * For callers that batch their own reads, `store` does the same for a value read elsewhere.
   */
  load(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const epoch = this.epoch;
    const running = this.inFlight.get(key);
    if (running && running.epoch === epoch) return running.promise;
    const startedAt = Date.now();
    const promise = load()
      .then((value) => {
        this.store(key, value, epoch, startedAt);
        return value;
      })
      .finally(() => {
        if (this.inFlight.get(key)?.promise === promise) this.inFlight.delete(key);
      });
    this.inFlight.set(key, { epoch, promise });
    return promise;
  }

  /** The epoch to pass to `store` for a read that starts now. */
  get currentEpoch(): number {
    return this.epoch;
  }

  /** Stores a value read from `startedAt`, unless an invalidation came after the read began. */
  store(key: string, value: V | undefined, epoch: number, startedAt: number): void {
    if (value !== undefined && epoch === this.epoch) this.entries.set(key, { value, loadedAt: startedAt });
  }

  /** Forgets `key` (or, without one, everything) and makes every load under way store nothing. */
  invalidate(key?: string): void {
    this.epoch++;
    if (key === undefined) this.entries.clear();
    else this.entries.delete(key);
  }

  /** Forgets every entry whose value `test` picks. */
  invalidateWhere(test: (value: V) => boolean): void {
    this.epoch++;
    for (const [key, entry] of this.entries.entries()) if (test(entry.value)) this.entries.delete(key);
  }
}
