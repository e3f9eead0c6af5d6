import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { callTable, guardedWrite, newWriteToken, onFailureReturnItem } from '../store/dynamo';
import { attentionKey, copiedFields, stateKey, type Copied, type StateItem } from '../store/items';
import type { TaskStore } from '../store/taskStore';
import { debounceKey, expiresAfter } from './keys';

/**
 * The writes behind a debounce: the key's marker (which task the key's
 * current burst runs as), a burst's task's first state, a later enqueue
 * joining it, and the fence that keeps a task whose enqueue vanished from ever running.
 */

/** A debounce key's current burst: its task, and when its marker was written (epoch ms). */
export interface Burst {
  taskId: string;
  at: number;
}

export async function getBurst(store: TaskStore, name: string, key: string): Promise<Burst | undefined> {
  const out = await callTable('GetItem', () => store.client.send(new GetCommand({ TableName: store.tableName, Key: debounceKey(name, key), ConsistentRead: true })));
  return out.Item ? { taskId: String(out.Item.taskId), at: Number(out.Item.at) } : undefined;
}

/**
 * Makes `taskId` the key's current burst, if the marker is still as read:
 * absent (`previous` undefined) or pointing at `previous`. False if another
 * request moved it first.
 */
export async function putBurst(store: TaskStore, name: string, key: string, burst: Burst, previous: string | undefined, holdsUntil: number): Promise<boolean> {
  const token = newWriteToken();
  const out = await guardedWrite('PutItem', token, () =>
    store.client.send(
      new PutCommand({
        TableName: store.tableName,
        Item: { ...debounceKey(name, key), taskId: burst.taskId, at: burst.at, expiresAt: expiresAfter(holdsUntil), wt: token },
        ConditionExpression: previous === undefined ? 'attribute_not_exists(pk)' : 'taskId = :previous',
        ...(previous === undefined ? {} : { ExpressionAttributeValues: { ':previous': previous } }),
        ...onFailureReturnItem,
      }),
    ),
  );
  return out.applied;
}

/** How a state write ended: it landed, or the state that refused it (absent if there was none). */
export type Written = { applied: true } | { applied: false; state?: StateItem };

/**
 * The first state of a burst's task: PENDING, run 1, claimable once its
 * window closes (`dueAt`). Written after its message went out, so that no
 * later enqueue can join a task that might not run. Refused if the task has
 * a state already: a worker claimed it (its message came first), or a later
 * enqueue fenced it (this one took too long).
 */
export async function createBurstState(store: TaskStore, task: Copied, dueAt: number, now: Date, token: string): Promise<Written> {
  const state: StateItem = { ...stateKey(task.taskId), ...copiedFields(task), status: 'PENDING', run: 1, attempts: 0, claimableAt: dueAt, attemptLog: [], updatedAt: now.toISOString(), wt: token };
  const out = await guardedWrite('PutItem', token, () =>
    store.client.send(new PutCommand({ TableName: store.tableName, Item: state, ConditionExpression: 'attribute_not_exists(sk)', ...onFailureReturnItem })),
  );
  return out.applied ? { applied: true } : { applied: false, state: out.item as StateItem | undefined };
}

/**
 * Joins a burst: points its task at this enqueue's payload (`ref`) and moves
 * its start to `dueAt`, while the task still waits for its window to close
 * (PENDING, no attempt, its start still ahead of `now`). The claim moves the
 * same state out of that, so a join and a claim never both land.
 */
export async function joinBurst(store: TaskStore, taskId: string, ref: string, dueAt: number, now: Date, token: string): Promise<Written> {
  const out = await guardedWrite('UpdateItem', token, () =>
    store.client.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: stateKey(taskId),
        UpdateExpression: 'SET claimableAt = :due, payloadRef = :ref, updatedAt = :now, wt = :wt',
        ConditionExpression: '#s = :pending AND attempts = :zero AND claimableAt > :nowMs AND attribute_not_exists(stopped)',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':due': dueAt, ':ref': ref, ':now': now.toISOString(), ':pending': 'PENDING', ':zero': 0, ':nowMs': now.getTime(), ':wt': token },
        ...onFailureReturnItem,
      }),
    ),
  );
  return out.applied ? { applied: true } : { applied: false, state: out.item as StateItem | undefined };
}

/** Whether a later enqueue may still join the task of `state` at `nowMs`. */
export function isOpen(state: StateItem, nowMs: number): boolean {
  return state.status === 'PENDING' && state.attempts === 0 && (state.claimableAt ?? 0) > nowMs && state.stopped === undefined;
}

/**
 * Keeps a task that has no state yet from ever running: its state is written
 * CANCELLED (`stopped`, which no claim accepts). For a burst whose enqueue
 * vanished between its marker and its state, and for one that failed to
 * send. Refused (false, with the state) if the task has a state already.
 */
export async function fence(store: TaskStore, task: Copied, error: { type: string; message: string }, now: Date): Promise<Written> {
  const token = newWriteToken();
  const state: StateItem = {
    ...stateKey(task.taskId),
    ...copiedFields(task),
    status: 'CANCELLED',
    stopped: 'enqueue_failed',
    run: 1,
    attempts: 0,
    attemptLog: [],
    error,
    finishedAt: now.toISOString(),
    updatedAt: now.toISOString(),
    attention: attentionKey('CANCELLED', task.taskId),
    wt: token,
  };
  const out = await guardedWrite('PutItem', token, () =>
    store.client.send(new PutCommand({ TableName: store.tableName, Item: state, ConditionExpression: 'attribute_not_exists(sk)', ...onFailureReturnItem })),
  );
  return out.applied ? { applied: true } : { applied: false, state: out.item as StateItem | undefined };
}
