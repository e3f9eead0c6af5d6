import { describe, expect, it } from 'vitest';
import { chunksOf } from '../../lib/chunks';

describe('chunksOf', () => {
  it('slices in order, every slice full but the last', () => {
    expect(chunksOf([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunksOf([1, 2, 3, 4], 2)).toEqual([[1, 2], [3, 4]]);
  });

  it('makes no slice of nothing, and one of fewer than a slice', () => {
    expect(chunksOf([], 25)).toEqual([]);
    expect(chunksOf(['a'], 25)).toEqual([['a']]);
  });
});
