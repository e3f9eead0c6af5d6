import type { StepView, WorkflowMark } from './workflows/types';

/**
 * The states of a task; the last three are terminal. SCHEDULED: waiting for its runAt (never stored: a PENDING task whose time has not come).
 * WAITING: a workflow waiting for a signal (lib/workflows); no task of its own is ever WAITING.
 */
export const TASK_STATUSES = ['SCHEDULED', 'PENDING', 'RUNNING', 'WAITING', 'RETRYING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const TERMINAL_STATUSES: readonly TaskStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

export type Priority = 'high' | 'default';
export const PRIORITIES: readonly Priority[] = ['high', 'default'];

/** What a client may read of an error: never a stack, never a secret-bearing cause. */
export interface TaskError {
  type: string;
  message: string;
}

/** One run of a task's handler, as kept on its record (the last few). */
export interface AttemptRecord {
  attempt: number;
  /** The run the attempt belonged to (1, then one more per manual retry). */
  run: number;
  startedAt: string;
  durationMs: number;
  outcome: 'succeeded' | 'failed' | 'timed_out' | 'cancelled';
  error?: TaskError;
  /** The attempt's span in the task's trace, when tracing records it (lib/tracing). */
  spanId?: string;
}

/** Where a payload or result kept in S3 is (lib/payloads), and its size as JSON. */
export interface ObjectRef {
  key: string;
  bytes: number;
}

/** A task as clients read it: its definition, and where it is in its life. */
export interface TaskRecord {
  taskId: string;
  name: string;
  payload: unknown;
  status: TaskStatus;
  priority: Priority;
  /**
   * The run number: 1 for the first run, one more for each manual retry. Every
   * message carries it and every conditional write checks it, so nothing from
   * an earlier run can change a later one.
   */
  run: number;
  /** Attempts claimed in this run. */
  attempts: number;
  maxAttempts: number;
  timeoutSeconds: number;
  createdAt: string;
  updatedAt: string;
  /** When the first attempt of this run started. */
  startedAt?: string;
  /** When the task reached a terminal state. */
  finishedAt?: string;
  /** Run time of the last attempt. */
  durationMs?: number;
  result?: unknown;
  error?: TaskError;
  attemptLog: AttemptRecord[];
  /** While RUNNING: epoch ms until which the current attempt owns the task; from then on another may take it over. */
  leaseExpiresAt?: number;
  /** While RETRYING: epoch ms before which no attempt may start (its backoff). */
  nextAttemptAt?: number;
  delaySeconds?: number;
  /** When the first run may start (ISO 8601), for a task enqueued with runAt or delaySeconds. */
  runAt?: string;
  idempotencyKey?: string;
  /** The W3C trace id of the task's trace (lib/tracing): its enqueue and every attempt. */
  traceId?: string;
  /** The last value the task reported with ctx.progress, and when (lib/control). */
  progress?: unknown;
  progressAt?: string;
  /** When a client asked to cancel the task while it ran (DELETE /tasks/{id} answered 202). */
  cancelRequestedAt?: string;
  /** The debounce the task was enqueued with: its key and window. */
  debounce?: { key: string; seconds: number };
  /** Epoch seconds: DynamoDB TTL. */
  expiresAt: number;
  /** A payload kept in S3 (then `payload` is null until lib/payloads reads it). */
  payloadObject?: ObjectRef;
  /** A result kept in S3 (then `result` is absent until lib/payloads reads it). */
  resultObject?: ObjectRef;
  /** A workflow's record (its kind), or a step of one (which workflow, which step): lib/workflows. */
  workflow?: WorkflowMark;
  /** A workflow's steps, as GET /tasks/{id} shows them (lib/workflows/stepsView.ts). */
  steps?: StepView[];
}

/** What a list shows of a task: its record without payload, result and attempt log. */
export type TaskSummary = Omit<
  TaskRecord,
  'payload' | 'result' | 'attemptLog' | 'leaseExpiresAt' | 'nextAttemptAt' | 'payloadObject' | 'resultObject' | 'progress' | 'progressAt' | 'cancelRequestedAt' | 'debounce' | 'workflow' | 'steps'
>;
