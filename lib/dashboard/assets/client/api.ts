/**
 * Client part 2 of 6: the key and the JSON API. The key lives in this tab's
 * sessionStorage only (gone when the tab closes) and travels as x-api-key;
 * no cookie, so no CSRF surface.
 */
export const API_JS = String.raw`
const KEY_STORAGE = 'tasks-dashboard.api-key';

function storedKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE);
  } catch (e) {
    return null;
  }
}

function storeKey(key) {
  sessionStorage.setItem(KEY_STORAGE, key);
}

function forgetKey() {
  sessionStorage.removeItem(KEY_STORAGE);
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Calls the JSON API; a non-2xx answer becomes an ApiError with the API's own code and message. */
async function api(method, path, query, key) {
  const params = new URLSearchParams();
  Object.keys(query || {}).forEach(function (name) {
    const value = query[name];
    if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
  });
  const qs = params.toString();
  let res;
  try {
    res = await fetch(path + (qs ? '?' + qs : ''), {
      method: method,
      headers: { 'x-api-key': key || storedKey() || '', accept: 'application/json' },
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (e) {
    throw new ApiError(0, 'network_error', 'The API could not be reached.');
  }
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    body = null;
  }
  if (!res.ok) {
    const error = body && body.error ? body.error : {};
    throw new ApiError(res.status, error.code || 'http_' + res.status, error.message || 'The API answered ' + res.status + '.');
  }
  return body;
}

function taskPath(taskId) {
  return '/tasks/' + encodeURIComponent(taskId);
}
`;
