import { createClient, TasksApiError } from '../../client';

/**
 * The key and the JSON API. The key lives in this tab's sessionStorage only
 * (gone when the tab closes) and travels as x-api-key; no cookie, so no CSRF
 * surface.
 */
const KEY_STORAGE = 'tasks-dashboard.api-key';

export function storedKey(): string | null {
  try {
    return sessionStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

export function storeKey(key: string): void {
  sessionStorage.setItem(KEY_STORAGE, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(KEY_STORAGE);
}

/**
 * The API, through the typed client (lib/client) on this page's own origin,
 * with the key from this tab's storage on every call. Nothing is cached and
 * no cookie is sent: the key travels only as x-api-key.
 */
const sameOrigin: typeof fetch = (input, init) => fetch(input, { ...init, cache: 'no-store', credentials: 'omit' });

export const tasksApi = createClient({ baseUrl: '', apiKey: () => storedKey(), fetch: sameOrigin });

/** The API with a key the user just typed, before it is stored. */
export function withKey(key: string) {
  return createClient({ baseUrl: '', apiKey: key, fetch: sameOrigin });
}

/** The status of an error from the API: 0 when it gave none (unreachable, or not an API error). */
export function statusOf(error: unknown): number {
  return error instanceof TasksApiError ? error.status : 0;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
