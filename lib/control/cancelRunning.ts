import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DependencyUnavailableError, TaskNotFoundError } from '../errors';
import { guardedWrite, newWriteToken, onFailureReturnItem } from '../store/dynamo';
import { attentionKey, stateKey, type StateItem } from '../store/items';
import type { TaskStore } from '../store/taskStore';
import type { TaskError } from '../types';

/**
 * Cancelling a task that is RUNNING. The api does not stop the attempt
 * itself: it leaves a request on the task's state (`cancelRequestedAt`),
 * which no claim accepts and which the running attempt notices within a few
 * seconds (lib/control/attempt.ts), aborting its `ctx.signal` and recording
 * CANCELLED. A running task whose lease has ended (its worker is gone) has no
 * one to notice, so it is cancelled at once.
 */

/** What a cancel of a running task did: asked the attempt to stop (`requested`), or ended the run (`cancelled`). */
export type RunningCancel = { outcome: 'requested' | 'cancelled'; state: StateItem };

/** Tries, when the task moves between the read and the write. */
const TRIES = 4;

/**
 * Asks the running attempt of `state`'s run to stop, or cancels the run at
 * once if its lease has ended. Returns what it did, or undefined if the task
 * is no longer RUNNING in that run (the caller looks again): it finished,
 * failed and waits to retry, or was retried. A request already in place is
 * left as it is (its time stands) and counts as done.
 */
export async function cancelRunning(store: TaskStore, taskId: string, now: Date, read: () => Promise<StateItem | undefined>): Promise<RunningCancel | undefined> {
  for (let tries = 0; tries < TRIES; tries++) {
    const state = await read();
    if (!state) throw new TaskNotFoundError(taskId);
    if (state.status !== 'RUNNING') return undefined;
    if (state.cancelRequestedAt !== undefined) return { outcome: 'requested', state };
    const leaseOver = (state.claimableAt ?? 0) <= now.getTime();
    const written = leaseOver ? await endAbandoned(store, state, now) : await askToStop(store, state, now);
    if (written) return { outcome: leaseOver ? 'cancelled' : 'requested', state: written };
  }
  throw new DependencyUnavailableError('dynamodb', 'UpdateItem', 'the task kept changing');
}

/** Leaves the request on a run whose attempt holds a live lease; the new state, or undefined if the state was no longer as read. */
async function askToStop(store: TaskStore, state: StateItem, now: Date): Promise<StateItem | undefined> {
  const token = newWriteToken();
  const out = await guardedWrite('UpdateItem', token, () =>
    store.client.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: stateKey(state.taskId),
        UpdateExpression: 'SET cancelRequestedAt = :now, updatedAt = :now, wt = :wt',
        ConditionExpression: '#s = :running AND run = :run AND attempts = :attempts AND attribute_not_exists(cancelRequestedAt)',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':now': now.toISOString(), ':running': 'RUNNING', ':run': state.run, ':attempts': state.attempts, ':wt': token },
        ReturnValues: 'ALL_NEW',
        ...onFailureReturnItem,
      }),
    ),
  );
  return out.applied ? ((out.output?.Attributes ?? out.item) as StateItem) : undefined;
}

/** Cancels, at once, a run whose attempt's lease has ended (its worker is gone); undefined if the state was no longer as read. */
async function endAbandoned(store: TaskStore, state: StateItem, now: Date): Promise<StateItem | undefined> {
  return endCancelled(store, state.taskId, state.run, now, { type: 'TaskCancelled', message: 'Cancelled while its worker was gone (the attempt\'s lease had ended)' }, now.toISOString());
}

/**
 * Ends run `run` CANCELLED from outside an attempt, if it is not running under
 * a live lease (and, when `requestedAt` is absent, if a client asked for it
 * before: the worker meeting a run whose attempt was asked to stop and then
 * vanished). Returns the new state, or undefined if the run was not in a state
 * to end so.
 */
export async function endCancelled(store: TaskStore, taskId: string, run: number, now: Date, error: TaskError, requestedAt?: string): Promise<StateItem | undefined> {
  const token = newWriteToken();
  const values: Record<string, unknown> = {
    ':cancelled': 'CANCELLED',
    ':error': error,
    ':now': now.toISOString(),
    ':attention': attentionKey('CANCELLED', taskId),
    ':run': run,
    ':running': 'RUNNING',
    ':nowMs': now.getTime(),
    ':wt': token,
  };
  if (requestedAt !== undefined) values[':requested'] = requestedAt;
  const out = await guardedWrite('UpdateItem', token, () =>
    store.client.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: stateKey(taskId),
        UpdateExpression:
          'SET #s = :cancelled, #e = :error, finishedAt = :now, updatedAt = :now, attention = :attention, wt = :wt' +
          `${requestedAt === undefined ? '' : ', cancelRequestedAt = :requested'} REMOVE claimableAt, attemptStartedAt`,
        // Not over (it has a claimableAt), not running under a live lease, and asked for.
        ConditionExpression:
          'run = :run AND attribute_exists(claimableAt) AND (#s <> :running OR claimableAt <= :nowMs)' +
          (requestedAt === undefined ? ' AND attribute_exists(cancelRequestedAt)' : ' AND #s = :running'),
        ExpressionAttributeNames: { '#s': 'status', '#e': 'error' },
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
        ...onFailureReturnItem,
      }),
    ),
  );
  return out.applied ? ((out.output?.Attributes ?? out.item) as StateItem) : undefined;
}

