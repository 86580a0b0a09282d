/**
 * Conditions re-checked whenever the state they read changes (`changed()`, called after each answer
 * or request): waiting on events, not on a clock. The timeout only turns a hang into a failure that
 * says what was awaited and what was seen.
 */
export class Conditions {
  private readonly waiters = new Set<() => void>();

  changed(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves once `holds()`, checked now and after each change; rejects with `failure()` after `timeoutMs`. */
  until(holds: () => boolean, failure: () => string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(failure()));
      }, timeoutMs);
      const check = () => {
        if (!holds()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
      check();
    });
  }
}
