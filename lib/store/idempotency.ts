import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { callTable, conditionalWrite, guardedWrite, newWriteToken, onFailureReturnItem } from './dynamo';
import { copiedFields, stateKey, type Copied, type StateItem } from './items';
import type { TaskStore } from './taskStore';

/**
 * The writes behind an Idempotency-Key: the marker that ties a key to one
 * task, and the claim on sending that task (`dispatch` on its state), which
 * one request holds at a time, for a while, so that concurrent requests with
 * the key wait for its outcome instead of sending the task again.
 */

export interface IdempotencyMarker {
  taskId: string;
  requestHash: string;
}

/** Which request holds the sending of a task, and until when. */
type Dispatch = NonNullable<StateItem['dispatch']>;

const markerKey = (key: string) => ({ pk: `IDEM#${key}`, sk: 'marker' });

/** Records the first use of a key; returns the marker already there if the key was used before. */
export async function putMarker(store: TaskStore, key: string, marker: IdempotencyMarker, expiresAt: number): Promise<IdempotencyMarker | undefined> {
  for (;;) {
    const written = await conditionalWrite('PutItem', () =>
      store.client.send(new PutCommand({ TableName: store.tableName, Item: { ...markerKey(key), ...marker, expiresAt }, ConditionExpression: 'attribute_not_exists(sk)' })),
    );
    if (written) return undefined;
    const out = await callTable('GetItem', () => store.client.send(new GetCommand({ TableName: store.tableName, Key: markerKey(key), ConsistentRead: true })));
    // Gone between the two calls (it expired): try to be first again.
    if (out.Item) return { taskId: String(out.Item.taskId), requestHash: String(out.Item.requestHash) };
  }
}

/** The marker of a key, if the key was used (read consistently, without writing one). */
export async function getMarker(store: TaskStore, key: string): Promise<IdempotencyMarker | undefined> {
  const out = await callTable('GetItem', () => store.client.send(new GetCommand({ TableName: store.tableName, Key: markerKey(key), ConsistentRead: true })));
  return out.Item ? { taskId: String(out.Item.taskId), requestHash: String(out.Item.requestHash) } : undefined;
}

/** Creates the state of a task that `owner` is about to send: PENDING, run 1. False if it has a state already. */
export async function beginDispatch(store: TaskStore, task: Copied, owner: string, until: number, now: Date): Promise<boolean> {
  const state: StateItem = {
    ...stateKey(task.taskId),
    ...copiedFields(task),
    status: 'PENDING',
    run: 1,
    attempts: 0,
    claimableAt: 0,
    attemptLog: [],
    updatedAt: now.toISOString(),
    dispatch: { owner, until },
    wt: newWriteToken(),
  };
  const out = await guardedWrite('PutItem', state.wt!, () =>
    store.client.send(new PutCommand({ TableName: store.tableName, Item: state, ConditionExpression: 'attribute_not_exists(sk)', ...onFailureReturnItem })),
  );
  return out.applied;
}

/** Takes the sending over from a request whose hold (`held`, read in `seen`) has run out (it crashed, or hangs). */
export async function takeOverDispatch(store: TaskStore, seen: StateItem, held: Dispatch, owner: string, until: number): Promise<boolean> {
  const token = newWriteToken();
  const out = await guardedWrite('UpdateItem', token, () =>
    store.client.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: stateKey(seen.taskId),
        UpdateExpression: 'SET dispatch = :mine, wt = :wt',
        ConditionExpression: 'dispatch.#owner = :theirs AND dispatch.#until = :until AND run = :run',
        ExpressionAttributeNames: { '#owner': 'owner', '#until': 'until' },
        ExpressionAttributeValues: { ':mine': { owner, until }, ':theirs': held.owner, ':until': held.until, ':run': seen.run, ':wt': token },
        ...onFailureReturnItem,
      }),
    ),
  );
  return out.applied;
}

/**
 * Starts a new run of a task whose earlier enqueue was stopped (its send
 * failed), for a request with the same key that is now sending it again.
 * Returns the new run, or undefined if the task is no longer stopped.
 */
export async function reviveStopped(store: TaskStore, seen: StateItem, owner: string, until: number, now: Date): Promise<number | undefined> {
  const token = newWriteToken();
  const out = await guardedWrite('UpdateItem', token, () =>
    store.client.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: stateKey(seen.taskId),
        UpdateExpression: 'SET #s = :pending, run = :next, attempts = :zero, claimableAt = :zero, updatedAt = :now, dispatch = :mine, wt = :wt REMOVE stopped, #e, finishedAt, attention',
        ConditionExpression: 'stopped = :stopped AND run = :run',
        ExpressionAttributeNames: { '#s': 'status', '#e': 'error' },
        ExpressionAttributeValues: {
          ':pending': 'PENDING',
          ':next': seen.run + 1,
          ':zero': 0,
          ':now': now.toISOString(),
          ':mine': { owner, until },
          ':stopped': 'enqueue_failed',
          ':run': seen.run,
          ':wt': token,
        },
        ...onFailureReturnItem,
      }),
    ),
  );
  return out.applied ? seen.run + 1 : undefined;
}

/**
 * Marks run `run` sent: the requests waiting on it may answer 202. Released
 * (true) also when another request that held the sending since has released
 * it: the run went out, unstopped. False if the run was stopped or moved on,
 * or another request holds the sending now: it decides.
 */
export async function endDispatch(store: TaskStore, taskId: string, owner: string, run: number): Promise<boolean> {
  const token = newWriteToken();
  const out = await guardedWrite('UpdateItem', token, () =>
    store.client.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: stateKey(taskId),
        UpdateExpression: 'SET wt = :wt REMOVE dispatch',
        ConditionExpression: 'dispatch.#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':owner': owner, ':wt': token },
        ...onFailureReturnItem,
      }),
    ),
  );
  if (out.applied) return true;
  const state = out.item as StateItem | undefined;
  return state !== undefined && state.run === run && state.dispatch === undefined && state.stopped === undefined;
}
