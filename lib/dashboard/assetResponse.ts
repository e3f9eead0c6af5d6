import type { HttpResponse } from '../http/response';

/**
 * The dashboard's policy: only its own script, style and API calls; no inline
 * code, no frames, no forms posting anywhere, no <base>. The favicon is `data:`.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
  'strict-transport-security': 'max-age=31536000',
};

export const CONTENT_TYPES = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
} as const;

/**
 * A static dashboard file with the CSP and security headers. Why not json():
 * that one fixes the content type to JSON. `cacheControl` is the caller's:
 * versioned assets are immutable, the HTML shell is revalidated.
 */
export function assetResponse(kind: keyof typeof CONTENT_TYPES, body: string, cacheControl: string): HttpResponse {
  return {
    statusCode: 200,
    headers: { ...SECURITY_HEADERS, 'content-type': CONTENT_TYPES[kind], 'cache-control': cacheControl },
    body,
  };
}
