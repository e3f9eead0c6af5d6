/** The states of a task; the last three are terminal. */
export const TASK_STATUSES = ['PENDING', 'RUNNING', 'RETRYING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const TERMINAL_STATUSES: readonly TaskStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

export type Priority = 'high' | 'default';
export const PRIORITIES: readonly Priority[] = ['high', 'default'];

/** What a client may read of an error: never a stack, never a secret-bearing cause. */
export interface TaskError {
  type: string;
  message: string;
}

/** One run of a task's handler, as kept on its record (the last 25). */
export interface AttemptRecord {
  attempt: number;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  outcome: 'succeeded' | 'failed' | 'timed_out';
  error?: TaskError;
}

/** A task as DynamoDB holds it: the single source of truth for its state. */
export interface TaskRecord {
  taskId: string;
  name: string;
  payload: unknown;
  status: TaskStatus;
  priority: Priority;
  attempts: number;
  maxAttempts: number;
  timeoutSeconds: number;
  createdAt: string;
  updatedAt: string;
  /** When the first attempt started. */
  startedAt?: string;
  /** When the task reached a terminal state. */
  finishedAt?: string;
  /** Run time of the last attempt. */
  durationMs?: number;
  result?: unknown;
  error?: TaskError;
  attemptLog: AttemptRecord[];
  /** Epoch ms until which the current RUNNING attempt owns the task. */
  leaseExpiresAt?: number;
  delaySeconds?: number;
  idempotencyKey?: string;
  /** Epoch seconds: DynamoDB TTL. */
  expiresAt: number;
}

/** The SQS message body: the record in DynamoDB carries everything else. */
export interface TaskMessage {
  v: 1;
  taskId: string;
  name: string;
}
