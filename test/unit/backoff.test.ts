import { describe, expect, it } from 'vitest';
import { orphanBackoffSeconds, outageBackoffSeconds, retryDelaySeconds } from '../../lib/backoff';

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

describe('outageBackoffSeconds', () => {
  it('doubles from 2 s with each receive, up to 20 minutes', () => {
    expect([0, 1, 2, 3, 9, 10, 11, 12, 50].map(outageBackoffSeconds)).toEqual([2, 2, 4, 8, 512, 1024, 1200, 1200, 1200]);
  });

  it('spreads the queue’s 50 receives over more than 12 hours, so a 12-hour outage sends nothing to the DLQ', () => {
    // serverless.yml's maxReceiveCount: the 50th receive is the last before the redrive.
    const waited = Array.from({ length: 49 }, (_, i) => outageBackoffSeconds(i + 1)).reduce((a, b) => a + b, 0);
    expect(waited).toBeGreaterThan(12 * 3600);
    // ...and a short outage costs little: the first five minutes spend eight receives.
    expect(Array.from({ length: 8 }, (_, i) => outageBackoffSeconds(i + 1)).reduce((a, b) => a + b, 0)).toBeLessThan(600);
  });
});
