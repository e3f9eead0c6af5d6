/** Base of every error this engine raises on purpose; `code` is what HTTP clients see. */
export class TaskQueueError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The client sent something we cannot accept; `details` says what. */
export class ValidationError extends TaskQueueError {
  constructor(message: string, readonly details?: unknown) {
    super('validation_error', message);
  }
}

export class UnknownTaskError extends TaskQueueError {
  constructor(readonly taskName: string) {
    super('unknown_task', `No task is registered under the name "${taskName}"`);
  }
}

export class PayloadTooLargeError extends TaskQueueError {
  constructor(readonly sizeBytes: number, readonly limitBytes: number) {
    super('payload_too_large', `Payload is ${sizeBytes} bytes; the limit is ${limitBytes}`);
  }
}

export class TaskNotFoundError extends TaskQueueError {
  constructor(readonly taskId: string) {
    super('task_not_found', `No task with id ${taskId}`);
  }
}

/** A transition was asked of a task in a state that does not allow it (cancel a running task...). */
export class TaskStateConflictError extends TaskQueueError {
  constructor(readonly taskId: string, readonly status: string, action: string) {
    super('invalid_state', `Cannot ${action} task ${taskId}: it is ${status}`);
  }
}

export class IdempotencyConflictError extends TaskQueueError {
  constructor(readonly idempotencyKey: string) {
    super('idempotency_key_reused', 'This Idempotency-Key was already used with a different request body');
  }
}

/** SQS or DynamoDB could not be reached or refused the call; `retryable` says whether to try again. */
export class DependencyUnavailableError extends TaskQueueError {
  constructor(readonly dependency: 'sqs' | 'dynamodb', action: string, cause: unknown, readonly retryable = true) {
    super('service_unavailable', `${dependency === 'sqs' ? 'SQS' : 'DynamoDB'} ${action} failed`, { cause });
  }
}

/** The handler ran past its task's timeoutSeconds. */
export class TaskTimeoutError extends TaskQueueError {
  constructor(readonly timeoutSeconds: number) {
    super('task_timeout', `Task did not finish within ${timeoutSeconds}s`);
  }
}

/** Missing or wrong API key. */
export class UnauthorizedError extends TaskQueueError {
  constructor() {
    super('unauthorized', 'A valid API key is required (x-api-key header or Authorization: Bearer)');
  }
}

/** The deployment has no API key configured, so it refuses every protected route. */
export class AuthNotConfiguredError extends TaskQueueError {
  constructor() {
    super('auth_not_configured', 'No API key is configured for this deployment');
  }
}

export class RouteNotFoundError extends TaskQueueError {
  constructor(method: string, path: string) {
    super('not_found', `No route for ${method} ${path}`);
  }
}

export class MethodNotAllowedError extends TaskQueueError {
  constructor(readonly method: string, readonly allowed: string[]) {
    super('method_not_allowed', `${method} is not allowed here; use ${allowed.join(', ')}`);
  }
}

export class UnsupportedMediaTypeError extends TaskQueueError {
  constructor(contentType: string) {
    super('unsupported_media_type', `Content-Type must be application/json, not "${contentType.slice(0, 100)}"`);
  }
}
