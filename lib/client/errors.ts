import type { ApiErrorCode, TaskSummary } from './types';

/** An answer other than 2xx, with the API's own code and message; or no answer at all (TasksUnreachableError). */
export class TasksApiError extends Error {
  constructor(
    /** The HTTP status; 0 when no answer came. */
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    /** For validation errors, the issues: `[{path, message}]`. */
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** No task has that id (404): it never existed, or it expired. */
export class TaskNotFoundError extends TasksApiError {}

/** The API could not be reached (connection refused, DNS, a network error) after every try. */
export class TasksUnreachableError extends TasksApiError {
  constructor(url: string, cause: unknown) {
    super(0, 'unreachable', `The tasks API at ${url} could not be reached: ${reason(cause)}`, undefined, { cause });
  }
}

/** fetch's error, with the network's own code when it gives one: "fetch failed (ECONNREFUSED)". */
function reason(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : String(cause);
  const code = (cause as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return typeof code === 'string' ? `${message} (${code})` : message;
}

/** `waitFor` gave up before the task ended; `task` is its record when last read. */
export class WaitTimeoutError extends Error {
  constructor(
    readonly task: TaskSummary,
    timeoutMs: number,
  ) {
    super(`Task ${task.taskId} is still ${task.status} after ${timeoutMs} ms`);
    this.name = 'WaitTimeoutError';
  }
}
