import { TaskNotFoundError, TasksApiError, TasksUnreachableError } from './errors';
import type { ApiErrorCode } from './types';

export interface TransportOptions {
  /** Where the API is: `https://abc.execute-api.us-east-1.amazonaws.com`, or '' for the page's own origin in a browser. */
  baseUrl: string;
  /** The key, or a function that reads it on each call (a key a user may change). */
  apiKey?: string | (() => string | null | undefined);
  /** Default: the global fetch (Node 18+ and browsers). */
  fetch?: typeof fetch;
  /** Tries of a request answered 429 or 503 or not at all, the first included, when it is safe to send again. Default 4. */
  maxTries?: number;
  /** The longest wait between tries, whatever Retry-After says. Default 20 s. */
  maxRetryDelayMs?: number;
}

export interface Call {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * Whether sending the request again cannot do anything twice: a read, or an
   * enqueue that carries an Idempotency-Key. Such a request is also tried
   * again after a 503 from a proxy or no answer at all; any request is tried
   * again after a 429 (refused before it reached the API) and after the API's
   * own 503 (which it answers only when nothing was done).
   */
  idempotent: boolean;
}

/** Sends calls to the API: the key, JSON both ways, bounded retries with backoff, and typed errors. */
export function createTransport(options: TransportOptions) {
  const base = options.baseUrl.replace(/\/+$/, '');
  const fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
  const maxTries = Math.max(1, options.maxTries ?? 4);
  const maxDelay = options.maxRetryDelayMs ?? 20_000;

  return async function send<T>(call: Call): Promise<T> {
    const url = base + call.path + queryString(call.query);
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= maxTries;
      let res: Response;
      try {
        res = await fetchFn(url, { method: call.method, headers: headersFor(call, options.apiKey), body: call.body === undefined ? undefined : JSON.stringify(call.body) });
      } catch (cause) {
        if (last || !call.idempotent) throw new TasksUnreachableError(base || 'this origin', cause);
        await sleep(backoff(attempt, maxDelay));
        continue;
      }
      const body = await readJson(res);
      if (res.ok) return body as T;
      const error = toError(res.status, body);
      const ownAnswer = isApiError(body);
      const retry = res.status === 429 || (res.status === 503 && (call.idempotent || ownAnswer));
      if (last || !retry) throw error;
      await sleep(Math.min(maxDelay, retryAfterMs(res.headers.get('retry-after')) ?? backoff(attempt, maxDelay)));
    }
  };
}

function headersFor(call: Call, apiKey: TransportOptions['apiKey']): Record<string, string> {
  const key = typeof apiKey === 'function' ? apiKey() : apiKey;
  return {
    accept: 'application/json',
    ...(call.body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(key ? { 'x-api-key': key } : {}),
    ...call.headers,
  };
}

function queryString(query: Call['query']): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) if (value !== undefined && value !== '') params.set(name, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

async function readJson(res: Response): Promise<unknown> {
  try {
    return JSON.parse(await res.text()) as unknown;
  } catch {
    return undefined;
  }
}

function isApiError(body: unknown): body is { error: { code: ApiErrorCode; message: string; details?: unknown } } {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  return typeof error?.code === 'string' && typeof error.message === 'string';
}

function toError(status: number, body: unknown): TasksApiError {
  if (!isApiError(body)) return new TasksApiError(status, `http_${status}`, `The API answered ${status}`);
  const { code, message, details } = body.error;
  return status === 404 && code === 'task_not_found' ? new TaskNotFoundError(status, code, message, details) : new TasksApiError(status, code, message, details);
}

/** Retry-After as milliseconds: delay-seconds or an HTTP date. */
export function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** Exponential backoff with full jitter: up to 200 ms, 400 ms, 800 ms... */
function backoff(attempt: number, maxDelay: number): number {
  return Math.random() * Math.min(maxDelay, 200 * 2 ** (attempt - 1));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
