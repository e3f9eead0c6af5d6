import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { TaskStore } from './store';
import { conditionalWrite, fromItem, statusShardOf, type StoredItem } from './taskItem';
import type { AttemptRecord, TaskError, TaskRecord } from './types';

/** The last this many attempts are kept on a record. */
export const ATTEMPT_LOG_LIMIT = 25;

/** What the worker's claim found. Only `claimed` may run the handler. */
export type ClaimResult =
  | { outcome: 'claimed'; record: TaskRecord }
  | { outcome: 'missing' }
  /** Terminal, or running under a live lease: a duplicate delivery to acknowledge and skip. */
  | { outcome: 'skip'; record: TaskRecord }
  /** Its lease expired on its last allowed attempt: nothing left to run. */
  | { outcome: 'exhausted'; record: TaskRecord };

/** What an attempt's end records: a result, or an error and whether another attempt follows. */
export type AttemptOutcome = { status: 'SUCCEEDED'; result: unknown } | { status: 'RETRYING' | 'FAILED'; error: TaskError };

/**
 * Claims a task for one attempt with a single conditional write: PENDING or
 * RETRYING, or RUNNING whose lease has expired, becomes RUNNING with
 * attempts + 1. This is what makes a handler run at most once per attempt.
 */
export async function claimTask(store: TaskStore, taskId: string, now: Date, leaseMs: number): Promise<ClaimResult> {
  const nowMs = now.getTime();
  const out = await conditionalWrite('UpdateItem', () =>
    store.client.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: { taskId },
        UpdateExpression:
          'SET #s = :running, statusShard = :shard, attempts = attempts + :one, leaseExpiresAt = :lease, ' +
          'updatedAt = :now, startedAt = if_not_exists(startedAt, :now), attemptStartedAt = :now',
        ConditionExpression:
          'attribute_exists(taskId) AND attempts < maxAttempts AND (#s IN (:pending, :retrying) OR (#s = :running AND leaseExpiresAt < :nowMs))',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: {
          ':running': 'RUNNING',
          ':pending': 'PENDING',
          ':retrying': 'RETRYING',
          ':shard': statusShardOf('RUNNING', taskId),
          ':one': 1,
          ':lease': nowMs + leaseMs,
          ':now': now.toISOString(),
          ':nowMs': nowMs,
        },
        ReturnValues: 'ALL_NEW',
      }),
    ),
  );
  if (out) return { outcome: 'claimed', record: fromItem(out.Attributes as StoredItem) };
  const record = await store.get(taskId);
  if (!record) return { outcome: 'missing' };
  const liveLease = record.status === 'RUNNING' && (record.leaseExpiresAt ?? 0) >= nowMs;
  if (record.status === 'PENDING' || record.status === 'RETRYING' || (record.status === 'RUNNING' && !liveLease)) {
    return { outcome: 'exhausted', record };
  }
  return { outcome: 'skip', record };
}

/**
 * Ends a RUNNING task's lease at `now` if it is still the one read
 * (`leaseExpiresAt`): a live worker that renewed it, or finished the task,
 * wins. The claim takes over a lease that ended strictly before it, hence one
 * millisecond back. Returns whether it ended the lease.
 */
export async function endLease(store: TaskStore, taskId: string, leaseExpiresAt: number | undefined, now: Date): Promise<boolean> {
  const out = await conditionalWrite('UpdateItem', () =>
    store.client.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: { taskId },
        UpdateExpression: 'SET leaseExpiresAt = :ended',
        ConditionExpression: '#s = :running AND leaseExpiresAt = :read',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':ended': now.getTime() - 1, ':running': 'RUNNING', ':read': leaseExpiresAt },
      }),
    ),
  );
  return out !== undefined;
}

/**
 * Records the end of an attempt. The write only lands if this attempt still
 * owns the task (RUNNING with the same attempt number), so an attempt whose
 * lease was taken over can never overwrite its successor's outcome.
 * Returns false when it did not own the task any more.
 */
export async function finishAttempt(store: TaskStore, claimed: TaskRecord, entry: AttemptRecord, next: AttemptOutcome, now: Date): Promise<boolean> {
  const values: Record<string, unknown> = {
    ':status': next.status,
    ':shard': statusShardOf(next.status, claimed.taskId),
    ':log': [...claimed.attemptLog, entry].slice(-ATTEMPT_LOG_LIMIT),
    ':now': now.toISOString(),
    ':duration': entry.durationMs,
    ':running': 'RUNNING',
    ':attempt': claimed.attempts,
  };
  let update = 'SET #s = :status, statusShard = :shard, attemptLog = :log, updatedAt = :now, durationMs = :duration';
  if (next.status !== 'RETRYING') update += ', finishedAt = :now';
  if (next.status === 'SUCCEEDED') {
    update += ', resultJson = :result';
    values[':result'] = JSON.stringify(next.result ?? null);
  } else {
    update += ', #e = :error';
    values[':error'] = next.error;
  }
  update += ' REMOVE leaseExpiresAt, attemptStartedAt';
  const out = await conditionalWrite('UpdateItem', () =>
    store.client.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: { taskId: claimed.taskId },
        UpdateExpression: update,
        ConditionExpression: '#s = :running AND attempts = :attempt',
        ExpressionAttributeNames: { '#s': 'status', ...(next.status === 'SUCCEEDED' ? {} : { '#e': 'error' }) },
        ExpressionAttributeValues: values,
      }),
    ),
  );
  return out !== undefined;
}

/**
 * Marks a task FAILED from outside an attempt (poison message, dead letter,
 * lease expired on the last attempt). Terminal records are left as they are:
 * then, and for a task that does not exist, the result is undefined.
 */
export async function markTaskFailed(store: TaskStore, taskId: string, error: TaskError, now: Date): Promise<TaskRecord | undefined> {
  const out = await conditionalWrite('UpdateItem', () =>
    store.client.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: { taskId },
        UpdateExpression: 'SET #s = :failed, statusShard = :shard, #e = :error, finishedAt = :now, updatedAt = :now REMOVE leaseExpiresAt, attemptStartedAt',
        ConditionExpression: 'attribute_exists(statusShard) AND NOT #s IN (:succeeded, :failed, :cancelled)',
        ExpressionAttributeNames: { '#s': 'status', '#e': 'error' },
        ExpressionAttributeValues: {
          ':failed': 'FAILED',
          ':succeeded': 'SUCCEEDED',
          ':cancelled': 'CANCELLED',
          ':shard': statusShardOf('FAILED', taskId),
          ':error': error,
          ':now': now.toISOString(),
        },
        ReturnValues: 'ALL_NEW',
      }),
    ),
  );
  return out ? fromItem(out.Attributes as StoredItem) : undefined;
}
