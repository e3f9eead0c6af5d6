import { describe, expect, it } from 'vitest';
import { authorize, presentedKey } from '../../lib/http/auth';
import { AuthNotConfiguredError, UnauthorizedError } from '../../lib/http/errors';

describe('auth', () => {
  it('reads the key from x-api-key or a Bearer token', () => {
    expect(presentedKey({ 'x-api-key': 'k1' })).toBe('k1');
    expect(presentedKey({ authorization: 'Bearer k2' })).toBe('k2');
    expect(presentedKey({ authorization: 'Basic k3' })).toBeUndefined();
  });

  it('accepts only a configured key, and refuses everything when none is configured', () => {
    expect(() => authorize({ 'x-api-key': 'right' }, ['other', 'right'])).not.toThrow();
    expect(() => authorize({ 'x-api-key': 'righ' }, ['right'])).toThrow(UnauthorizedError);
    expect(() => authorize({}, ['right'])).toThrow(UnauthorizedError);
    expect(() => authorize({ 'x-api-key': 'right' }, [])).toThrow(AuthNotConfiguredError);
  });
});
