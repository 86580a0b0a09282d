import { describe, expect, it } from 'vitest';
import { Semaphore } from './semaphore';

describe('Semaphore', () => {
  it('never runs more than its limit at once, and runs everything', async () => {
    const sem = new Semaphore(3);
    let running = 0;
    let peak = 0;
    const gates: Array<() => void> = [];
    const tasks = Array.from({ length: 10 }, (_, i) =>
      sem.run(async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((resolve) => gates.push(resolve));
        running--;
        return i;
      }),
    );
    // Release the gates one by one as tasks reach them.
    while (gates.length > 0 || running > 0) {
      await Promise.resolve();
      const g = gates.shift();
      if (g) g();
      else await new Promise((r) => setImmediate(r));
    }
    expect(await Promise.all(tasks)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(peak).toBe(3);
  });

  it('frees its slot when the task throws', async () => {
    const sem = new Semaphore(1);
    await expect(sem.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await sem.run(async () => 'next')).toBe('next');
  });

  it('lets weighted waiters in first come, first served, as units free up', async () => {
    const sem = new Semaphore(10);
    const order: string[] = [];
    const enter = (name: string, weight: number) =>
      sem.acquire(weight).then(() => {
        order.push(name);
      });
    await enter('a', 6);
    const b = enter('b', 6); // does not fit beside a
    const c = enter('c', 1); // would fit, but waits its turn behind b
    await Promise.resolve();
    expect(order).toEqual(['a']);
    sem.release(3); // 3 in use: b (6) fits, then c (1)
    await Promise.all([b, c]);
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('lets a weight above the limit in alone', async () => {
    const sem = new Semaphore(4);
    await sem.acquire(1);
    let big = false;
    const waiting = sem.acquire(9).then(() => {
      big = true;
    });
    await Promise.resolve();
    expect(big).toBe(false);
    sem.release(1);
    await waiting;
    expect(big).toBe(true);
    let small = false;
    const after = sem.acquire(1).then(() => {
      small = true;
    });
    await Promise.resolve();
    expect(small).toBe(false);
    sem.release(9);
    await after;
    expect(small).toBe(true);
  });
});
