import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ERROR_MESSAGE_LIMIT } from '../taskError';
import { clip } from '../text';
import type { AttemptRecord, ObjectRef, TaskError } from '../types';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { callTable, guardedWrite, newWriteToken, onFailureReturnItem } from './dynamo';
import { ATTEMPT_LOG_LIMIT, attentionKey, COPIED_FIELDS_SET, copiedFieldValues, copiedFields, stateKey, type StateItem, type TaskItem } from './items';
import type { TaskStore } from './taskStore';

/**
 * The worker's writes: claims and outcomes of attempts, and the end of a task
 * that cannot run. Each is one conditional write on the task's state item,
 * and each checks the run, so nothing of an earlier run can touch a later one.
 */

/**
 * Claims run `run` of a task for one attempt: creates its state RUNNING (a
 * task no one has touched, run 1), or moves it to RUNNING from PENDING, from
 * RETRYING once its backoff has passed, or from RUNNING whose lease has ended
 * (all three: `claimableAt` has come), with one more attempt, while attempts
 * remain. This one conditional write is what makes a handler run at most once
 * per attempt and never before its backoff. Returns the claimed state, or undefined.
 */
/**
 * A state a claim of run `:run` may take: attempts left, and claimable now
 * (not waiting out a backoff or someone else's lease, not finished, no cancel
 * asked of its running attempt: lib/control/cancelRunning.ts). Flat on
 * purpose: it is evaluated on every claim, and the local DynamoDB's parser
 * takes milliseconds per level of nested parentheses.
 */
const RUNNABLE = 'run = :run AND attempts < maxAttempts AND claimableAt <= :nowMs AND attribute_not_exists(cancelRequestedAt)';

/** A claim's outcome: the state it claimed, or the state that refused it (absent if there was none). */
export type Claim = { claimed: StateItem } | { claimed?: undefined; current?: StateItem };

export async function claimTask(store: TaskStore, task: TaskItem, run: number, now: Date, leaseMs: number, token = newWriteToken()): Promise<Claim> {
  const nowMs = now.getTime();
  const out = await guardedWrite('UpdateItem', token, () =>
    store.client.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: stateKey(task.taskId),
        UpdateExpression:
          'SET #s = :running, run = :run, attempts = if_not_exists(attempts, :zero) + :one, claimableAt = :lease, updatedAt = :now, ' +
          'startedAt = if_not_exists(startedAt, :now), attemptStartedAt = :now, attemptLog = if_not_exists(attemptLog, :noLog), ' +
          `${COPIED_FIELDS_SET}, wt = :wt ` +
          'REMOVE dispatch',
        // Only run 1 can start from nothing: a later run exists because a retry wrote it.
        ConditionExpression: `${run === 1 ? 'attribute_not_exists(#s) OR ' : ''}(${RUNNABLE})`,
        ExpressionAttributeNames: { '#s': 'status', '#n': 'name' },
        ExpressionAttributeValues: {
          ':running': 'RUNNING',
          ':run': run,
          ':zero': 0,
          ':one': 1,
          ':lease': nowMs + leaseMs,
          ':now': now.toISOString(),
          ':nowMs': nowMs,
          ':noLog': [],
          ...copiedFieldValues(task),
          ':wt': token,
        },
        ReturnValues: 'ALL_NEW',
        ...onFailureReturnItem,
      }),
    ),
  );
  if (out.applied) return { claimed: (out.output?.Attributes ?? out.item) as StateItem };
  return { current: out.item as StateItem | undefined };
}

/**
 * Undoes a claim whose attempt will not run (its answer came too late, or
 * never came, so the worker cannot run it now): the attempt is given back and
 * the task is claimable at once, if the state is still as that claim (its
 * `token`) left it. Returns whether it was given back; false also when the
 * claim never landed. Without it, such a claim would cost an attempt that
 * never ran once its lease ended.
 */
export async function releaseClaim(store: TaskStore, taskId: string, token: string, now: Date, claimed?: StateItem): Promise<boolean> {
  const state =
    claimed ?? ((await callTable('GetItem', () => store.client.send(new GetCommand({ TableName: store.tableName, Key: stateKey(taskId), ConsistentRead: true })))).Item as StateItem | undefined);
  if (state?.wt !== token) return false;
  const attempts = state.attempts - 1;
  const next = newWriteToken();
  const out = await guardedWrite('UpdateItem', next, () =>
    store.client.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: stateKey(taskId),
        UpdateExpression: `SET #s = :back, attempts = :attempts, claimableAt = :nowMs, updatedAt = :now, wt = :wt REMOVE attemptStartedAt${attempts === 0 ? ', startedAt' : ''}`,
        ConditionExpression: 'wt = :claim',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':back': attempts === 0 ? 'PENDING' : 'RETRYING', ':attempts': attempts, ':nowMs': now.getTime(), ':now': now.toISOString(), ':claim': token, ':wt': next },
        ...onFailureReturnItem,
      }),
    ),
  );
  return out.applied;
}

/** How an attempt ended: a result (JSON), or an error and whether, and when, another attempt follows; or a client cancelled it. */
export type AttemptOutcome =
  | { status: 'SUCCEEDED'; resultJson: string; resultObject?: undefined }
  | { status: 'SUCCEEDED'; resultObject: ObjectRef; resultJson?: undefined }
  | { status: 'RETRYING'; error: TaskError; nextAttemptAt: number }
  | { status: 'FAILED'; error: TaskError }
  | { status: 'CANCELLED'; error: TaskError };

/**
 * Records the end of an attempt. The write lands only if this attempt still
 * owns the task (RUNNING, the same run and attempt number), so an attempt
 * whose lease was taken over, or whose run was retried since, can never
 * overwrite what came after it. A failed attempt whose run a client asked to
 * cancel meanwhile ends the run CANCELLED instead of RETRYING. `extra`
 * attributes are set with the outcome (the last progress: lib/control).
 * Returns the status recorded, or false when the attempt did not own the task.
 */
export async function finishAttempt(
  store: TaskStore,
  claimed: StateItem,
  entry: AttemptRecord,
  outcome: AttemptOutcome,
  now: Date,
  extra: Record<string, string> = {},
): Promise<AttemptOutcome['status'] | false> {
  const values: Record<string, unknown> = {
    ':status': outcome.status,
    ':log': [...(claimed.attemptLog ?? []), entry].slice(-ATTEMPT_LOG_LIMIT),
    ':now': now.toISOString(),
    ':duration': entry.durationMs,
    ':running': 'RUNNING',
    ':run': claimed.run,
    ':attempt': claimed.attempts,
  };
  const token = newWriteToken();
  values[':wt'] = token;
  const set = ['#s = :status', 'attemptLog = :log', 'updatedAt = :now', 'durationMs = :duration', 'wt = :wt'];
  for (const [name, value] of Object.entries(extra)) {
    set.push(`${name} = :x_${name}`);
    values[`:x_${name}`] = value;
  }
  const remove = ['attemptStartedAt'];
  if (outcome.status === 'SUCCEEDED') {
    // A result kept in S3 (lib/payloads) is named, not held: the state item stays small.
    set.push(outcome.resultObject ? 'resultObject = :result' : 'resultJson = :result', 'finishedAt = :now');
    values[':result'] = outcome.resultObject ?? outcome.resultJson;
    remove.push('#e', 'claimableAt');
  } else {
    set.push('#e = :error');
    values[':error'] = outcome.error;
    if (outcome.status === 'RETRYING') {
      // The backoff: no claim before then, whatever message comes.
      set.push('claimableAt = :next');
      values[':next'] = outcome.nextAttemptAt;
    } else {
      set.push('finishedAt = :now', 'attention = :attention');
      values[':attention'] = attentionKey(outcome.status, claimed.taskId);
      remove.push('claimableAt');
    }
  }
  // No retry once a client asked to cancel the run: that is seen here, where the outcome lands.
  const retrying = outcome.status === 'RETRYING' ? ' AND attribute_not_exists(cancelRequestedAt)' : '';
  const out = await guardedWrite('UpdateItem', token, () =>
    store.client.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: stateKey(claimed.taskId),
        UpdateExpression: `SET ${set.join(', ')} REMOVE ${remove.join(', ')}`,
        ConditionExpression: `#s = :running AND run = :run AND attempts = :attempt${retrying}`,
        ExpressionAttributeNames: { '#s': 'status', '#e': 'error' },
        ExpressionAttributeValues: values,
        ...onFailureReturnItem,
      }),
    ),
  );
  if (out.applied) return outcome.status;
  const current = out.item as StateItem | undefined;
  // Stryker disable next-line ConditionalExpression,LogicalOperator,OptionalChaining: saves a write only: the CANCELLED write below holds the attempt to the same ownership
  const ours = current?.status === 'RUNNING' && current.run === claimed.run && current.attempts === claimed.attempts;
  if (outcome.status === 'RETRYING' && ours && current.cancelRequestedAt !== undefined) {
    const error = { type: 'TaskCancelled', message: clip(`Cancelled while running (requested at ${current.cancelRequestedAt}); the attempt had failed: ${outcome.error.message}`, ERROR_MESSAGE_LIMIT) };
    return finishAttempt(store, claimed, entry, { status: 'CANCELLED', error }, now, extra);
  }
  return false;
}

/**
 * Ends run `run` of a task FAILED from outside an attempt: a dead letter, a
 * message for a task type this code does not know, a lease that ended on the
 * last attempt. Only a task still in that run, not finished, and not running
 * under a live lease is changed. Returns the new state, or undefined if the
 * task was not in a state to fail.
 */
export async function markTaskFailed(store: TaskStore, task: TaskItem, run: number, error: TaskError, now: Date): Promise<StateItem | undefined> {
  const failed = { status: 'FAILED' as const, error, finishedAt: now.toISOString(), updatedAt: now.toISOString(), attention: attentionKey('FAILED', task.taskId) };
  if (run === 1) {
    // Never touched: its state starts as FAILED.
    const token = newWriteToken();
    const state: StateItem = { ...stateKey(task.taskId), ...copiedFields(task), run, attempts: 0, attemptLog: [], ...failed, wt: token };
    const created = await guardedWrite('PutItem', token, () =>
      store.client.send(new PutCommand({ TableName: store.tableName, Item: state, ConditionExpression: 'attribute_not_exists(sk)', ...onFailureReturnItem })),
    );
    if (created.applied) return state;
  }
  const token = newWriteToken();
  const out = await guardedWrite('UpdateItem', token, () =>
    store.client.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: stateKey(task.taskId),
        UpdateExpression: 'SET #s = :failed, #e = :error, finishedAt = :now, updatedAt = :now, attention = :attention, wt = :wt REMOVE claimableAt, attemptStartedAt, dispatch',
        // Not over (it has a claimableAt), and not running under a live lease.
        ConditionExpression: 'run = :run AND attribute_exists(claimableAt) AND (#s <> :running OR claimableAt <= :nowMs)',
        ExpressionAttributeNames: { '#s': 'status', '#e': 'error' },
        ExpressionAttributeValues: {
          ':failed': failed.status,
          ':error': error,
          ':now': failed.finishedAt,
          ':attention': failed.attention,
          ':run': run,
          ':running': 'RUNNING',
          ':nowMs': now.getTime(),
          ':wt': token,
        },
        ReturnValues: 'ALL_NEW',
        ...onFailureReturnItem,
      }),
    ),
  );
  if (!out.applied) return undefined;
  return (out.output?.Attributes ?? out.item) as StateItem;
}

/**
 * Ends a RUNNING task's lease now, if it is still the one read
 * (`claimableAt`): a live worker that finished the task wins. Returns
 * whether it ended the lease. (The local recovery sweep's.)
 */
export async function endLease(store: TaskStore, taskId: string, leaseEnd: number | undefined, now: Date): Promise<boolean> {
  const token = newWriteToken();
  const out = await guardedWrite('UpdateItem', token, () =>
    store.client.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: stateKey(taskId),
        UpdateExpression: 'SET claimableAt = :now, wt = :wt',
        ConditionExpression: '#s = :running AND claimableAt = :read',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':now': now.getTime(), ':running': 'RUNNING', ':read': leaseEnd, ':wt': token },
        ...onFailureReturnItem,
      }),
    ),
  );
  return out.applied;
}
