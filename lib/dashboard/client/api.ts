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

/** A non-2xx answer, with the API's own code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Calls the JSON API; a non-2xx answer becomes an ApiError. */
export async function api<T>(method: string, path: string, query?: Record<string, string | number | undefined | null> | null, key?: string): Promise<T> {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
  }
  const qs = params.toString();
  let res: Response;
  try {
    res = await fetch(path + (qs ? `?${qs}` : ''), {
      method,
      headers: { 'x-api-key': key ?? storedKey() ?? '', accept: 'application/json' },
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    throw new ApiError(0, 'network_error', 'The API could not be reached.');
  }
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | null)?.error ?? {};
    throw new ApiError(res.status, error.code ?? `http_${res.status}`, error.message ?? `The API answered ${res.status}.`);
  }
  return body as T;
}

export function taskPath(taskId: string): string {
  return `/tasks/${encodeURIComponent(taskId)}`;
}

/** The status of an error from `api`: 0 for anything that is not an ApiError. */
export function statusOf(error: unknown): number {
  return error instanceof ApiError ? error.status : 0;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
