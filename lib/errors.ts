/** The codes of the errors this engine raises on purpose; the http layer maps each to a status. */
export type TaskErrorCode =
  | 'validation_error'
  | 'unknown_task'
  | 'payload_too_large'
  | 'task_not_found'
  | 'invalid_state'
  | 'idempotency_key_reused'
  | 'schedule_not_found'
  | 'service_unavailable'
  | 'background_enqueue_failed';

/** An error with a code a client may see. */
export class CodedError<C extends string> extends Error {
  constructor(
    readonly code: C,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Base of every domain error: what the engine refuses, or cannot do now. */
export class TaskQueueError extends CodedError<TaskErrorCode> {}

/** The client sent something we cannot accept; `details` says what. */
export class ValidationError extends TaskQueueError {
  constructor(
    message: string,
    readonly details?: unknown,
  ) {
    super('validation_error', message);
  }
}

export class UnknownTaskError extends TaskQueueError {
  constructor(readonly taskName: string) {
    super('unknown_task', `No task is registered under the name "${taskName}"`);
  }
}

export class PayloadTooLargeError extends TaskQueueError {
  constructor(
    readonly sizeBytes: number,
    readonly limitBytes: number,
    why?: string,
  ) {
    super('payload_too_large', `Payload is ${sizeBytes} bytes; the limit is ${limitBytes}${why ? ` ${why}` : ''}`);
  }
}

export class TaskNotFoundError extends TaskQueueError {
  constructor(readonly taskId: string) {
    super('task_not_found', `No task with id ${taskId}`);
  }
}

/** A transition was asked of a task in a state that does not allow it (cancel a running task...). */
export class TaskStateConflictError extends TaskQueueError {
  constructor(
    readonly taskId: string,
    readonly status: string,
    action: string,
  ) {
    super('invalid_state', `Cannot ${action} task ${taskId}: it is ${status}`);
  }
}

export class IdempotencyConflictError extends TaskQueueError {
  constructor(readonly idempotencyKey: string) {
    super('idempotency_key_reused', 'This Idempotency-Key was already used with a different request body');
  }
}

const DEPENDENCY_NAMES = { sqs: 'SQS', dynamodb: 'DynamoDB', scheduler: 'EventBridge Scheduler', s3: 'S3' } as const;

/** SQS, DynamoDB, EventBridge Scheduler or S3 could not be reached or refused the call; `retryable` says whether to try again. */
export class DependencyUnavailableError extends TaskQueueError {
  constructor(
    readonly dependency: keyof typeof DEPENDENCY_NAMES,
    action: string,
    cause: unknown,
    readonly retryable = true,
  ) {
    super('service_unavailable', `${DEPENDENCY_NAMES[dependency]} ${action} failed`, { cause });
  }
}

/** The request's Lambda was about to time out: it answers this instead of API Gateway's bare 5xx. */
export class OutOfTimeError extends TaskQueueError {
  constructor() {
    super('service_unavailable', 'The request ran out of time; try again');
  }
}

/** Tasks added during a handler could not all be enqueued, so none was: the handler's response must not go out. */
export class BackgroundEnqueueError extends TaskQueueError {
  constructor(readonly failures: Array<{ name: string; error: TaskQueueError }>) {
    super('background_enqueue_failed', `${failures.length} background task(s) could not be enqueued, so none was`);
  }
}

/** The handler ran past its task's timeoutSeconds (recorded on the task, never shown as an HTTP error). */
export class TaskTimeoutError extends Error {
  constructor(readonly timeoutSeconds: number) {
    super(`Task did not finish within ${timeoutSeconds}s`);
    this.name = 'TaskTimeoutError';
  }
}
