import { describe, expect, it } from 'vitest';
import { runWithConcurrency } from '../../lib/concurrency';

describe('runWithConcurrency', () => {
  it('never runs more than the limit at once, and one rejection stops nothing', async () => {
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    await runWithConcurrency([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 10));
      running--;
      if (n === 2) throw new Error('two');
      done.push(n);
    });
    expect(peak).toBe(3);
    expect(done.sort()).toEqual([1, 3, 4, 5, 6, 7]);
  });

  it('starts nothing more once stopped, and lets what runs finish', async () => {
    const started: number[] = [];
    let stop = false;
    await runWithConcurrency([1, 2, 3, 4], 1, async (n) => {
      started.push(n);
      if (n === 2) stop = true;
    }, () => stop);
    expect(started).toEqual([1, 2]);
  });
});
