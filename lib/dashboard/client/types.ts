/** What the JSON API answers, as far as the page reads it. */
export interface TaskError {
  type: string;
  message: string;
}

export interface TaskSummary {
  taskId: string;
  name: string;
  status: string;
  priority: string;
  attempts: number;
  maxAttempts: number;
  timeoutSeconds: number;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  error: TaskError | null;
  run: number;
  /** When the first run may start: a SCHEDULED task waits for it. */
  runAt: string | null;
  /** The W3C trace id of the task's trace (null in FAILED and CANCELLED lists, and for tasks older than tracing). */
  traceId: string | null;
}

export interface Attempt {
  attempt: number;
  run: number;
  startedAt: string;
  durationMs: number;
  outcome: string;
  error?: TaskError;
}

export interface Task extends TaskSummary {
  payload: unknown;
  result: unknown;
  nextAttemptAt: string | null;
  attemptLog: Attempt[];
  /** A payload over 256 KB, or a result too large for one answer: a presigned link (docs/payloads.md). */
  payloadUrl?: string;
  resultUrl?: string;
  progress: unknown;
  progressAt: string | null;
  cancelRequestedAt: string | null;
  debounce: { key: string; seconds: number } | null;
  /** A workflow's steps (docs/workflows.md): each a task of its own. */
  steps?: WorkflowStep[];
}

export interface WorkflowStep {
  index: number;
  taskId: string;
  name: string;
  status: string;
  waitFor?: string;
}

export interface Page {
  items: TaskSummary[];
  nextCursor: string | null;
}

export interface Stats {
  windowMinutes: number;
  throughput: Array<{ minute: string; succeeded: number; failed: number }>;
  totals: { succeeded: number; failed: number; cancelled: number };
  queues: { waiting: number; inFlight: number };
}

export interface Schedule {
  name: string;
  cron?: string;
  every?: string;
  timezone: string;
  nextRunAt: string | null;
  paused: boolean;
  lastRunAt?: string;
  lastTaskId?: string;
}
