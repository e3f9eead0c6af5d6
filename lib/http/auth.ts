import { createHash, timingSafeEqual } from 'node:crypto';
import { AuthNotConfiguredError, UnauthorizedError } from './errors';

/** Reads the presented key from `x-api-key` or `Authorization: Bearer`. Header names are lower-case in HTTP API v2 events. */
export function presentedKey(headers: Record<string, string | undefined>): string | undefined {
  const direct = headers['x-api-key'];
  if (direct) return direct.trim();
  const match = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
  return match?.[1];
}

/**
 * Checks the presented key against every configured key in constant time:
 * both sides are hashed to equal length first, and every key is compared
 * whatever the outcome, so timing says nothing about which key was close.
 */
export function authorize(headers: Record<string, string | undefined>, keys: readonly string[]): void {
  if (keys.length === 0) throw new AuthNotConfiguredError();
  const presented = presentedKey(headers);
  if (!presented) throw new UnauthorizedError();
  const digest = sha256(presented);
  let ok = false;
  for (const key of keys) ok = timingSafeEqual(digest, sha256(key)) || ok;
  if (!ok) throw new UnauthorizedError();
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
