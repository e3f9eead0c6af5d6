import { describe, expect, it } from 'vitest';
import { orphanBackoffSeconds, retryDelaySeconds } from '../../lib/backoff';

describe('retryDelaySeconds', () => {
  const backoff = { baseSeconds: 2, maxSeconds: 60 };

  it('grows exponentially up to the cap, jittered between half the step and the whole step', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => retryDelaySeconds(a, backoff, () => 1))).toEqual([2, 4, 8, 16, 32, 60, 60]);
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => retryDelaySeconds(a, backoff, () => 0))).toEqual([1, 2, 4, 8, 16, 30, 30]);
    expect(retryDelaySeconds(3, backoff, () => 0.5)).toBe(6);
  });
});

describe('orphanBackoffSeconds', () => {
  it('doubles from 2 s with each receive, up to a minute', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 50].map(orphanBackoffSeconds)).toEqual([2, 2, 4, 8, 16, 32, 60, 60, 60]);
  });
});
