import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { CodedError, ValidationError } from '../errors';
import { MethodNotAllowedError, UnauthorizedError, type ErrorCode } from './errors';

export type HttpResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string>; body: string };

const BASE_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

/** The status of every code a client can see: a new code without one does not compile. */
export const STATUS_OF: Record<ErrorCode, number> = {
  validation_error: 400,
  unknown_task: 400,
  unauthorized: 401,
  task_not_found: 404,
  not_found: 404,
  schedule_not_found: 404,
  method_not_allowed: 405,
  invalid_state: 409,
  idempotency_key_reused: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  service_unavailable: 503,
  auth_not_configured: 503,
  background_enqueue_failed: 503,
};

export interface ErrorBody {
  code: ErrorCode | 'internal_error';
  message: string;
  details?: unknown;
}

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { statusCode, headers: { ...BASE_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/**
 * The one place that turns a thrown value into HTTP: a status and an error
 * body (also used for each item of a batch). A coded error shows its code and
 * message; anything else is a 500 that says nothing of its cause.
 */
export function describeError(error: unknown): { status: number; body: ErrorBody } {
  try {
    if (error instanceof CodedError && (error.code as string) in STATUS_OF) {
      const code = error.code as ErrorCode;
      const details = error instanceof ValidationError ? error.details : undefined;
      return { status: STATUS_OF[code], body: { code, message: error.message, ...(details === undefined ? {} : { details }) } };
    }
  } catch {
    // A thrown value that cannot even be inspected (a Proxy whose traps throw) is an internal error like any other.
  }
  return { status: 500, body: { code: 'internal_error', message: 'Internal error' } };
}

/** A thrown value as an HTTP response, with the headers its status calls for. */
export function errorResponse(error: unknown): HttpResponse {
  const { status, body } = describeError(error);
  const headers: Record<string, string> = {};
  // Only our own errors get here with these statuses: describeError has read them safely.
  if (status === 405 && error instanceof MethodNotAllowedError) headers.allow = error.allowed.join(', ');
  if (status === 401 && error instanceof UnauthorizedError) headers['www-authenticate'] = 'Bearer';
  if (status === 503) headers['retry-after'] = '1';
  return json(status, { error: body }, headers);
}
