import { describe, expect, it } from 'vitest';
import { byteLength, clip, wellFormed } from '../../lib/text';

describe('text', () => {
  it('counts UTF-8 bytes', () => {
    expect(byteLength('aé€😀')).toBe(1 + 2 + 3 + 4);
  });

  it('clips at the limit, never inside a surrogate pair, and marks the cut', () => {
    expect(clip('abc', 3)).toBe('abc');
    expect(clip('abcd', 3)).toBe('abc…');
    expect(clip('a😀b', 2)).toBe('a…');
    expect(clip('a😀b', 3)).toBe('a😀…');
  });

  it('replaces lone surrogates', () => {
    expect(wellFormed('x\udc00y')).toBe('x\ufffdy');
  });
});
