import { shardOf, TASK_SHARDS } from '../keys';
import { storedTraceId, type StoredTrace } from '../tracing/storedTrace';
import type { WorkflowMark } from '../workflows/types';
import type { AttemptRecord, ObjectRef, Priority, TaskError, TaskRecord, TaskStatus, TaskSummary } from '../types';

/**
 * How a task is stored. Its definition and its state are two items, because
 * DynamoDB bills an update by the size of the whole item, before or after:
 * the definition (with the payload) is written once by enqueue and never
 * rewritten, and the state, which every claim and outcome rewrites, stays
 * small whatever the payload. Both live under the task's shard key, next to
 * each other (`<id>` and `<id>#state`), so one Query of a shard lists tasks
 * with their states, newest first, without an index.
 *
 * A task that no worker or client has touched yet has no state item: its
 * state is PENDING, run 1. The first claim (or cancel, or stop) creates it
 * with a conditional write that checks it does not exist.
 */

/** Payloads up to this size (as JSON) live in the task item; larger ones in an item of their own, which listing never reads. */
export const INLINE_PAYLOAD_BYTES = 4 * 1024;
/** The attempt log keeps this many attempts (each a few hundred bytes: they are rewritten with the state). */
export const ATTEMPT_LOG_LIMIT = 10;

type Key = { pk: string; sk: string };

const shardPk = (shard: number) => `TASK#${String(shard).padStart(2, '0')}`;
const STATE_SUFFIX = '#state';

export const taskKey = (taskId: string): Key => ({ pk: shardPk(shardOf(taskId)), sk: taskId });
export const stateKey = (taskId: string): Key => ({ pk: shardPk(shardOf(taskId)), sk: `${taskId}${STATE_SUFFIX}` });
export const payloadKey = (taskId: string): Key => ({ pk: `PAYLOAD#${taskId}`, sk: 'payload' });
/** A payload a later enqueue of a debounced task left (lib/control/debounce.ts): the state's `payloadRef` names it. */
export const debouncedPayloadKey = (taskId: string, ref: string): Key => ({ pk: `PAYLOAD#${taskId}`, sk: `payload#${ref}` });
/** Every shard's partition key, for listing and the recovery sweep. */
export const shardPks = (): string[] => Array.from({ length: TASK_SHARDS }, (_, i) => shardPk(i));
export const isStateSk = (sk: string) => sk.endsWith(STATE_SUFFIX);
export const taskIdOfSk = (sk: string) => (isStateSk(sk) ? sk.slice(0, -STATE_SUFFIX.length) : sk);

/** The sparse index of tasks that ended FAILED or CANCELLED, so those lists are exact whatever else the table holds. */
export const ATTENTION_INDEX = 'byAttention';
export const ATTENTION_STATUSES: readonly TaskStatus[] = ['FAILED', 'CANCELLED'];
export const attentionKey = (status: TaskStatus, taskId: string) => `${status}#${String(shardOf(taskId)).padStart(2, '0')}`;

/** A new task, as enqueue decides it before anything is written; its trace context rides in its definition. */
export interface NewTask extends StoredTrace {
  taskId: string;
  name: string;
  payload: unknown;
  priority: Priority;
  maxAttempts: number;
  timeoutSeconds: number;
  createdAt: string;
  delaySeconds?: number;
  /** When the first run may start (ISO 8601): set with runAt or delaySeconds. */
  runAt?: string;
  idempotencyKey?: string;
  /** Enqueued with a debounce (lib/control/debounce.ts): its payload may be replaced until it runs (`payloadRef`). */
  debounce?: { key: string; seconds: number };
  /** A workflow's record, or one of its steps (lib/workflows): what the worker's hook advances. */
  workflow?: WorkflowMark;
  expiresAt: number;
}

/** The definition: written once by enqueue, never rewritten. */
export interface TaskItem extends Key, Omit<NewTask, 'payload'> {
  /** The payload as JSON, when it is small enough to live here. */
  payloadJson?: string;
  /** Otherwise its size: it lives in the payload item, or in S3. */
  payloadBytes?: number;
  /** The S3 key of a payload over the inline threshold (lib/payloads), written before this item. */
  payloadObject?: string;
}

export interface PayloadItem extends Key {
  payloadJson: string;
  expiresAt: number;
}

/** Fields the state copies from the definition: the state alone is then a list row, and a claim's condition. */
export type Copied = Pick<TaskItem, 'taskId' | 'name' | 'priority' | 'createdAt' | 'maxAttempts' | 'timeoutSeconds' | 'expiresAt'>;

export interface StateItem extends Key, Copied {
  status: TaskStatus;
  run: number;
  attempts: number;
  updatedAt: string;
  startedAt?: string;
  attemptStartedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  /**
   * Epoch ms from which a claim may take the task: at once while PENDING,
   * when its backoff ends while RETRYING, when the running attempt's lease
   * ends while RUNNING; absent once the run is over. One attribute, so the
   * claim's condition stays one flat comparison.
   */
  claimableAt?: number;
  resultJson?: string;
  /** A result over the inline threshold, in S3 (lib/payloads), written before the outcome that names it. */
  resultObject?: ObjectRef;
  error?: TaskError;
  attemptLog?: AttemptRecord[];
  /** The byAttention index key, set while the task is FAILED or CANCELLED. */
  attention?: string;
  /** Set when enqueue stopped the task because it could not be sent: nothing of it may run. */
  stopped?: 'enqueue_failed';
  /** An idempotent enqueue in progress: which request is sending the task, and until when others wait for it. */
  dispatch?: { owner: string; until: number };
  /** The token of the last write (guardedWrite): how a write whose answer was lost knows it landed. */
  wt?: string;
  /** The last ctx.progress value as JSON, and when it was written (lib/control/progress.ts); not in the byAttention index. */
  progressJson?: string;
  progressAt?: string;
  /** A client asked to cancel the running attempt (lib/control/cancelRunning.ts): no claim takes the run again. */
  cancelRequestedAt?: string;
  /** A debounced task's latest payload, when a later enqueue replaced the first (lib/control/debounce.ts). */
  payloadRef?: string;
}

/** The items of a new task: its definition, and its payload's own item if the payload is large (none if it is in S3, at `payloadObject`). */
export function newTaskItems(task: NewTask, payloadJson: string, payloadBytes: number, payloadObject?: string): { task: TaskItem; payload?: PayloadItem } {
  const { payload: _payload, ...definition } = task;
  if (payloadObject !== undefined) return { task: { ...taskKey(task.taskId), ...definition, payloadBytes, payloadObject } };
  if (payloadBytes <= INLINE_PAYLOAD_BYTES) return { task: { ...taskKey(task.taskId), ...definition, payloadJson } };
  return {
    task: { ...taskKey(task.taskId), ...definition, payloadBytes },
    payload: { ...payloadKey(task.taskId), payloadJson, expiresAt: task.expiresAt },
  };
}

/** An UpdateExpression's SET of the copied fields, for a write that may create the state item (`#n`: name). */
export const COPIED_FIELDS_SET = 'taskId = :taskId, #n = :name, priority = :priority, createdAt = :createdAt, maxAttempts = :maxAttempts, timeoutSeconds = :timeout, expiresAt = :expiresAt';

/** The values COPIED_FIELDS_SET reads, from the definition. */
export function copiedFieldValues(task: Copied): Record<string, unknown> {
  return {
    ':taskId': task.taskId,
    ':name': task.name,
    ':priority': task.priority,
    ':createdAt': task.createdAt,
    ':maxAttempts': task.maxAttempts,
    ':timeout': task.timeoutSeconds,
    ':expiresAt': task.expiresAt,
  };
}

/** The fields every new state item starts from, copied from the definition. */
export function copiedFields(task: Copied): Copied {
  return {
    taskId: task.taskId,
    name: task.name,
    priority: task.priority,
    createdAt: task.createdAt,
    maxAttempts: task.maxAttempts,
    timeoutSeconds: task.timeoutSeconds,
    expiresAt: task.expiresAt,
  };
}

/**
 * A task as clients read it, from its items (no state item: PENDING, as enqueue left it; SCHEDULED before its runAt).
 * A payload or result kept in S3 is named by its reference, for lib/payloads to read (`payloadJson` undefined).
 */
export function toRecord(task: TaskItem, state: StateItem | undefined, payloadJson: string | undefined, nowMs = Date.now()): TaskRecord {
  const record: TaskRecord = {
    ...toSummary(task, state, nowMs),
    payload: payloadJson === undefined ? null : (JSON.parse(payloadJson) as unknown),
    attemptLog: state?.attemptLog ?? [],
  };
  if (task.payloadObject !== undefined) record.payloadObject = { key: task.payloadObject, bytes: task.payloadBytes ?? 0 };
  if (state?.resultJson !== undefined) record.result = JSON.parse(state.resultJson) as unknown;
  if (state?.resultObject !== undefined) record.resultObject = state.resultObject;
  if (state?.status === 'RUNNING' && state.claimableAt !== undefined) record.leaseExpiresAt = state.claimableAt;
  if (state?.status === 'RETRYING' && state.claimableAt !== undefined) record.nextAttemptAt = state.claimableAt;
  // A debounced task waits for its window to close: when it may run.
  if (state?.status === 'PENDING' && task.debounce && state.claimableAt) record.nextAttemptAt = state.claimableAt;
  if (state?.progressJson !== undefined) record.progress = JSON.parse(state.progressJson) as unknown;
  if (state?.progressAt) record.progressAt = state.progressAt;
  if (state?.cancelRequestedAt) record.cancelRequestedAt = state.cancelRequestedAt;
  if (task.debounce) record.debounce = task.debounce;
  if (task.workflow) record.workflow = task.workflow;
  return record;
}

/** What a list shows of a task: from its state if it has one, else from its definition. */
export function toSummary(task: TaskItem | undefined, state: StateItem | undefined, nowMs = Date.now()): TaskSummary {
  const base = (task ?? state)!;
  const summary: TaskSummary = {
    taskId: base.taskId,
    name: base.name,
    status: scheduledStatus(task, state, nowMs),
    priority: base.priority,
    run: state?.run ?? 1,
    attempts: state?.attempts ?? 0,
    maxAttempts: base.maxAttempts,
    timeoutSeconds: base.timeoutSeconds,
    createdAt: base.createdAt,
    updatedAt: state?.updatedAt ?? base.createdAt,
    expiresAt: base.expiresAt,
  };
  if (task?.delaySeconds) summary.delaySeconds = task.delaySeconds;
  if (task?.runAt) summary.runAt = task.runAt;
  if (task?.idempotencyKey) summary.idempotencyKey = task.idempotencyKey;
  const traceId = storedTraceId(task);
  if (traceId) summary.traceId = traceId;
  if (state?.startedAt) summary.startedAt = state.startedAt;
  if (state?.finishedAt) summary.finishedAt = state.finishedAt;
  if (state?.durationMs !== undefined) summary.durationMs = state.durationMs;
  if (state?.error) summary.error = state.error;
  return summary;
}

/** The stored status, or SCHEDULED for a first run that nothing has touched yet and whose runAt is still ahead. */
function scheduledStatus(task: TaskItem | undefined, state: StateItem | undefined, nowMs: number): TaskStatus {
  const status = state?.status ?? 'PENDING';
  const untouched = status === 'PENDING' && (state === undefined || (state.run === 1 && state.attempts === 0));
  return untouched && task?.runAt !== undefined && Date.parse(task.runAt) > nowMs ? 'SCHEDULED' : status;
}
