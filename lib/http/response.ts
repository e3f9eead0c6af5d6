import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  AuthNotConfiguredError,
  DependencyUnavailableError,
  IdempotencyConflictError,
  MethodNotAllowedError,
  PayloadTooLargeError,
  RouteNotFoundError,
  TaskNotFoundError,
  TaskQueueError,
  TaskStateConflictError,
  UnauthorizedError,
  UnknownTaskError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../errors';

export type HttpResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string>; body: string };

const BASE_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { statusCode, headers: { ...BASE_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/** The one place that turns errors into HTTP: a status, a code and a message; never a stack. */
export function errorResponse(error: unknown): HttpResponse {
  const status = statusOf(error);
  if (error instanceof TaskQueueError && status < 500) {
    const details = error instanceof ValidationError ? error.details : undefined;
    const headers: Record<string, string> = error instanceof MethodNotAllowedError ? { allow: error.allowed.join(', ') } : {};
    if (error instanceof UnauthorizedError) headers['www-authenticate'] = 'Bearer';
    return json(status, { error: { code: error.code, message: error.message, ...(details === undefined ? {} : { details }) } }, headers);
  }
  if (error instanceof TaskQueueError && status === 503) {
    return json(503, { error: { code: error.code, message: error.message } }, { 'retry-after': '1' });
  }
  return json(500, { error: { code: 'internal_error', message: 'Internal error' } });
}

function statusOf(error: unknown): number {
  if (error instanceof ValidationError || error instanceof UnknownTaskError) return 400;
  if (error instanceof UnauthorizedError) return 401;
  if (error instanceof TaskNotFoundError || error instanceof RouteNotFoundError) return 404;
  if (error instanceof MethodNotAllowedError) return 405;
  if (error instanceof TaskStateConflictError || error instanceof IdempotencyConflictError) return 409;
  if (error instanceof PayloadTooLargeError) return 413;
  if (error instanceof UnsupportedMediaTypeError) return 415;
  if (error instanceof DependencyUnavailableError || error instanceof AuthNotConfiguredError) return 503;
  if (error instanceof TaskQueueError && error.code === 'background_enqueue_failed') return 503;
  return 500;
}
