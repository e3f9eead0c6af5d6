import { CodedError, type TaskErrorCode } from '../errors';

/** Codes only the HTTP layer raises. */
export type HttpErrorCode = 'unauthorized' | 'auth_not_configured' | 'not_found' | 'method_not_allowed' | 'unsupported_media_type';

/** Every code a client can see in `{"error": {"code"}}`. */
export type ErrorCode = TaskErrorCode | HttpErrorCode;

export class HttpError extends CodedError<HttpErrorCode> {}

/** Missing or wrong API key. */
export class UnauthorizedError extends HttpError {
  constructor() {
    super('unauthorized', 'A valid API key is required (x-api-key header or Authorization: Bearer)');
  }
}

/** The deployment has no API key configured, so it refuses every protected route. */
export class AuthNotConfiguredError extends HttpError {
  constructor() {
    super('auth_not_configured', 'No API key is configured for this deployment');
  }
}

export class RouteNotFoundError extends HttpError {
  constructor(method: string, path: string) {
    super('not_found', `No route for ${method} ${path}`);
  }
}

export class MethodNotAllowedError extends HttpError {
  constructor(
    readonly method: string,
    readonly allowed: string[],
  ) {
    super('method_not_allowed', `${method} is not allowed here; use ${allowed.join(', ')}`);
  }
}

export class UnsupportedMediaTypeError extends HttpError {
  constructor(contentType: string) {
    super('unsupported_media_type', `Content-Type must be application/json, not "${contentType.slice(0, 100)}"`);
  }
}
