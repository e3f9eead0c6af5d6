import { TaskNotFoundError, TasksApiError, TasksUnreachableError, WaitTimeoutError } from '../client';

/** What `tasks` exits with, for scripts to test. */
export const EXIT = {
  ok: 0,
  /** `wait` saw the task end FAILED or CANCELLED, or the API refused the request (its error is printed). */
  failed: 1,
  /** The command line is wrong: unknown command or option, a missing argument, a payload that is not JSON. */
  usage: 2,
  /** No task has that id (or no schedule that name). */
  notFound: 3,
  /** The API could not be reached. */
  unreachable: 4,
  /** `wait --timeout` ran out while the task was still going. */
  timedOut: 5,
} as const;

/** A command line that cannot be run; its message says what to fix. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose usage to show, if one was named. */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError) return EXIT.usage;
  if (error instanceof TaskNotFoundError) return EXIT.notFound;
  if (error instanceof TasksApiError && error.code === 'schedule_not_found') return EXIT.notFound;
  if (error instanceof TasksUnreachableError) return EXIT.unreachable;
  if (error instanceof WaitTimeoutError) return EXIT.timedOut;
  return EXIT.failed;
}

/** One line for stderr: what went wrong, with the API's code and status when it answered. */
export function describeFailure(error: unknown): string {
  if (error instanceof TasksUnreachableError) return `error: ${error.message} (set TASKS_URL, or start the local stack with npm start)`;
  if (error instanceof TasksApiError) {
    const issues = Array.isArray(error.details) ? (error.details as Array<{ path?: string; message?: string }>).map((d) => `\n  ${d.path || '(payload)'}: ${d.message}`).join('') : '';
    return `error: ${error.message} (${error.code}, HTTP ${error.status})${issues}`;
  }
  return `error: ${error instanceof Error ? error.message : String(error)}`;
}
