/**
 * Bounds how much runs at once in this process: sends in flight, or deliveries admitted from batch
 * jobs. Weighted and first in, first out: a waiter is let in when its weight fits beside what is
 * running (or nothing is running, so a weight above the limit still gets its turn, alone).
 */
export class Semaphore {
  private active = 0;
  private readonly waiting: Array<{ weight: number; resolve: () => void }> = [];

  constructor(private readonly limit: number) {}

  /** Waits until `weight` units are free, in arrival order; pair with `release` of the same total. */
  acquire(weight = 1): Promise<void> {
    return this.take(weight) ? Promise.resolve() : this.queue(weight);
  }

  release(weight = 1): void {
    this.active -= weight;
    // Whoever is first in line next takes the freed units, then those behind it while they fit.
    while (this.waiting.length > 0 && this.fits(this.waiting[0].weight)) {
      const next = this.waiting.shift()!;
      this.active += next.weight;
      next.resolve();
    }
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    // A free slot is taken at once: `fn` starts before `run` returns.
    if (!this.take(1)) await this.queue(1);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private take(weight: number): boolean {
    if (this.waiting.length > 0 || !this.fits(weight)) return false;
    this.active += weight;
    return true;
  }

  private queue(weight: number): Promise<void> {
    return new Promise<void>((resolve) => this.waiting.push({ weight, resolve }));
  }

  private fits(weight: number): boolean {
    return this.active === 0 || this.active + weight <= this.limit;
  }
}
