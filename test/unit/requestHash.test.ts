import { describe, expect, it } from 'vitest';
import { requestHash, stableStringify } from '../../lib/requestHash';

describe('requestHash', () => {
  it('is independent of key order, and differs with the content', () => {
    expect(stableStringify({ b: 1, a: { d: 2, c: 3 } })).toBe(stableStringify({ a: { c: 3, d: 2 }, b: 1 }));
    expect(requestHash({ b: 1, a: [1, 2] })).toBe(requestHash({ a: [1, 2], b: 1 }));
    expect(requestHash({ a: [2, 1] })).not.toBe(requestHash({ a: [1, 2] }));
  });
});
