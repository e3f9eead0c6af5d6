import { describe, expect, it } from 'vitest';
import { BackgroundEnqueueError, DependencyUnavailableError, IdempotencyConflictError, ValidationError } from '../../lib/errors';
import { MethodNotAllowedError, UnauthorizedError } from '../../lib/http/errors';
import { describeError, errorResponse } from '../../lib/http/response';

describe('errors as HTTP', () => {
  it('maps each coded error to its status, with its code and message, and details for a validation error', () => {
    expect(describeError(new ValidationError('bad', [{ path: 'a', message: 'm' }]))).toEqual({
      status: 400,
      body: { code: 'validation_error', message: 'bad', details: [{ path: 'a', message: 'm' }] },
    });
    expect(describeError(new IdempotencyConflictError('k')).status).toBe(409);
    expect(describeError(new BackgroundEnqueueError([])).status).toBe(503);
    expect(describeError(new DependencyUnavailableError('sqs', 'SendMessage', 'x')).body).toEqual({ code: 'service_unavailable', message: 'SQS SendMessage failed' });
  });

  it('hides anything else behind a 500 that names nothing', () => {
    const internal = errorResponse(new TypeError('secret at /var/task/index.js:1'));
    expect(internal.statusCode).toBe(500);
    expect(JSON.parse(internal.body)).toEqual({ error: { code: 'internal_error', message: 'Internal error' } });
  });

  it('adds the headers a status calls for: Allow, WWW-Authenticate, Retry-After', () => {
    expect(errorResponse(new MethodNotAllowedError('PUT', ['GET', 'POST'])).headers.allow).toBe('GET, POST');
    expect(errorResponse(new UnauthorizedError()).headers['www-authenticate']).toBe('Bearer');
    expect(errorResponse(new DependencyUnavailableError('dynamodb', 'PutItem', 'x')).headers['retry-after']).toBe('1');
    expect(errorResponse(new ValidationError('bad')).headers['retry-after']).toBeUndefined();
  });
});
