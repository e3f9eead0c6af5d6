import type { ErrorCode } from '../http/errors';
import type { PayloadOf, ResultOf, TaskDefinition } from '../task';
import type { Priority, TaskStatus } from '../types';

/**
 * The tasks a client knows, as their definitions: a module's exports
 * (`typeof import('./tasks')`) or any object holding them. Only their types
 * are read; nothing of the engine is loaded.
 */
export type TaskSet = Record<string, unknown>;

/** Any task: the client of a caller that gives no task set. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a definition of any payload schema
export type AnyTasks = Record<string, TaskDefinition<any, unknown, string>>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- matches a definition of any payload schema
type DefinitionsOf<T extends TaskSet> = Extract<T[keyof T], TaskDefinition<any, any, string>>;
type DefinitionNamed<T extends TaskSet, N> = Extract<DefinitionsOf<T>, { readonly name: N }>;

/** The name of a task in `T` (any string for an untyped client, whose payloads and results are then `unknown`). */
export type TaskName<T extends TaskSet> = DefinitionsOf<T>['name'];
/** What `enqueue(name, ...)` takes for the task `N`: its payload schema's input. */
export type PayloadFor<T extends TaskSet, N extends TaskName<T>> = string extends TaskName<T> ? unknown : PayloadOf<DefinitionNamed<T, N>>;
/** What a SUCCEEDED task `N` holds as its result. */
export type ResultFor<T extends TaskSet, N extends TaskName<T>> = string extends TaskName<T> ? unknown : ResultOf<DefinitionNamed<T, N>>;

export interface EnqueueOptions {
  /** Run no sooner than this many seconds from now (up to a year); the task reads SCHEDULED until then. */
  delaySeconds?: number;
  /** Run no sooner than this moment (RFC 3339, up to a year ahead); not with delaySeconds. */
  runAt?: string;
  priority?: Priority;
  maxAttempts?: number;
  /** The same key and request give the same task. Default: a fresh key per call, so that retries of that call are safe. */
  idempotencyKey?: string;
  /**
   * Runs once for a burst of enqueues with this key: with the last payload,
   * `seconds` (1 to 900) after the last enqueue; each call of the burst
   * answers the same task id. Not with `delaySeconds` or `runAt`; the payload up to 256 KB.
   */
  debounce?: { key: string; seconds: number };
}

/** One task of `enqueueBatch`: its name, payload and options (a batch takes no idempotency keys, and no debounce). */
export type BatchItem<T extends TaskSet> = { [N in TaskName<T>]: { name: N; payload: PayloadFor<T, N> } & Omit<EnqueueOptions, 'idempotencyKey' | 'debounce'> }[TaskName<T>];

/** A step of a workflow (POST /workflows): a task by name, with its payload (a chain's later steps take the result before them without one). */
export type WorkflowStep<T extends TaskSet> = { [N in TaskName<T>]: { name: N; payload?: PayloadFor<T, N> } }[TaskName<T>];

/** POST /workflows: a chain (steps one after another, or waiting for a signal), or a group of members with a fan-in (docs/workflows.md). */
export type WorkflowRequest<T extends TaskSet> =
  | { chain: Array<WorkflowStep<T> | { waitFor: string; timeoutSeconds: number; onTimeout?: WorkflowStep<T> }> }
  | { group: Array<WorkflowStep<T>>; then?: WorkflowStep<T>; allowFailures?: boolean };

/** A signal taken by a waiting workflow (POST /tasks/{id}/signal); `repeated`: it had been taken already, nothing changed. */
export interface SignalAccepted {
  taskId: string;
  status: TaskStatus;
  statusUrl: string;
  repeated: boolean;
}

/** A task accepted (POST /tasks, a retry). */
export interface Accepted {
  taskId: string;
  status: TaskStatus;
  /** Where to read it: `/tasks/{id}`. */
  statusUrl: string;
}

export interface TaskErrorInfo {
  type: string;
  message: string;
}

/** A task in a list (GET /tasks): no payload, result or attempt log. */
export interface TaskSummary {
  taskId: string;
  name: string;
  status: TaskStatus;
  priority: Priority;
  error: TaskErrorInfo | null;
  run: number;
  attempts: number;
  maxAttempts: number;
  timeoutSeconds: number;
  delaySeconds: number;
  /** When the first run may start, for a task enqueued with runAt or delaySeconds. */
  runAt: string | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  expiresAt: number;
  /** The W3C trace id of the task's trace (docs/tracing.md); null in FAILED or CANCELLED lists, and for tasks older than tracing. */
  traceId: string | null;
}

export interface Attempt {
  attempt: number;
  run: number;
  startedAt: string;
  durationMs: number;
  outcome: 'succeeded' | 'failed' | 'timed_out' | 'cancelled';
  error?: TaskErrorInfo;
  /** The attempt's span, when tracing recorded it. */
  spanId?: string;
}

/** A task's record (GET /tasks/{id}), its payload and result typed by its name: narrow on `name` to read them. */
export type Task<T extends TaskSet = AnyTasks> = {
  [N in TaskName<T>]: TaskSummary & {
    name: N;
    /** Null when it is over 256 KB: read it from `payloadUrl`. */
    payload: PayloadFor<T, N>;
    /** Null until the task succeeds; `{truncated: true, ...}` when it was over 5 MB. `get` and `waitFor` read a linked result (`resultUrl`) for you. */
    result: ResultFor<T, N> | { truncated: true; reason: string; sizeBytes?: number } | null;
    nextAttemptAt: string | null;
    attemptLog: Attempt[];
    /** A payload over 256 KB: a presigned GET of its JSON, for 15 minutes (docs/payloads.md). */
    payloadUrl?: string;
    /** A result too large for one answer: a presigned GET of its JSON, for 15 minutes. */
    resultUrl?: string;
    /** The last value the task reported with ctx.progress (null if none), and when. */
    progress: unknown;
    progressAt: string | null;
    /** While RUNNING: a cancel was asked at this time; the task ends CANCELLED within a few seconds, unless it finishes first. */
    cancelRequestedAt: string | null;
    /** The debounce it was enqueued with. */
    debounce: { key: string; seconds: number } | null;
    /** A workflow's steps (its record is named `workflow`): each a task, with where it is. */
    steps?: WorkflowStepView[];
  };
}[TaskName<T>];

/** A step of a workflow, as `get` shows it on the workflow's record. */
export interface WorkflowStepView {
  index: number;
  taskId: string;
  name: string;
  status: TaskStatus;
  /** The signal a waiting step waits for. */
  waitFor?: string;
}

export interface ListQuery {
  status?: TaskStatus;
  name?: string;
  /** 1 to 100; 20 by default. */
  limit?: number;
  /** The nextCursor of the page before. */
  cursor?: string;
}

export interface TaskPage {
  items: TaskSummary[];
  /** Null at the end; a page may be short and still have one. */
  nextCursor: string | null;
}

export type BatchItemResult =
  | { index: number; ok: true; httpStatus: 202; taskId: string; status: TaskStatus; statusUrl: string }
  | { index: number; ok: false; httpStatus: number; error: { code: ApiErrorCode; message: string; details?: unknown } };

export interface BatchResult {
  accepted: number;
  rejected: number;
  items: BatchItemResult[];
}

export interface QueueDepth {
  visible: number;
  delayed: number;
  inFlight: number;
}

export interface Stats {
  generatedAt: string;
  windowMinutes: number;
  throughput: Array<{ minute: string; succeeded: number; failed: number }>;
  totals: { succeeded: number; failed: number; cancelled: number };
  queues: { waiting: number; inFlight: number; byPriority: Record<Priority, QueueDepth> };
}

/** A code from the API's `{"error": {"code"}}`; `unreachable` when no answer came, `http_<status>` when the answer was not the API's JSON. */
export type ApiErrorCode = ErrorCode | 'internal_error' | 'unreachable' | `http_${number}`;

/** A recurring schedule (GET /schedules): from its task's definition, with what the table knows of it. */
export interface Schedule {
  /** The task it enqueues, which names the schedule too. */
  name: string;
  cron?: string;
  every?: string;
  timezone: string;
  /** As EventBridge Scheduler runs it: `cron(...)` or `rate(...)`. */
  expression: string;
  /** The next tick; null while paused, and for a rate before its first tick. */
  nextRunAt: string | null;
  paused: boolean;
  lastRunAt?: string;
  lastTaskId?: string;
}

export interface SchedulePage {
  items: Schedule[];
}
