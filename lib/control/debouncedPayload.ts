import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Engine } from '../engine';
import { releaseClaim } from '../store/claims';
import { callTable } from '../store/dynamo';
import { debouncedPayloadKey, type StateItem, type TaskItem } from '../store/items';
import type { TaskStore } from '../store/taskStore';

/**
 * The payloads of a debounced task after its first: a task's definition is
 * written once and never rewritten, so each later enqueue of the burst puts
 * its payload in an item of its own (never rewritten either) and points the
 * task's state at it (`payloadRef`), in the one conditional write that also
 * moves the task's start. The claim returns the state, so the worker knows
 * which payload its attempt runs with, whatever it loaded before.
 */

/** Writes one enqueue's payload under `ref`, before the state points at it. */
export async function putDebouncedPayload(store: TaskStore, task: Pick<TaskItem, 'taskId' | 'expiresAt'>, ref: string, payloadJson: string): Promise<void> {
  await callTable('PutItem', () =>
    store.client.send(new PutCommand({ TableName: store.tableName, Item: { ...debouncedPayloadKey(task.taskId, ref), payloadJson, expiresAt: task.expiresAt } })),
  );
}

/** The payload a state points at, read consistently; undefined if there is no such item. */
export async function getDebouncedPayload(store: TaskStore, taskId: string, ref: string): Promise<string | undefined> {
  const out = await callTable('GetItem', () => store.client.send(new GetCommand({ TableName: store.tableName, Key: debouncedPayloadKey(taskId, ref), ConsistentRead: true })));
  return out.Item?.payloadJson as string | undefined;
}

/**
 * The payload the claimed attempt runs with: the one its state points at, or
 * the definition's (`loaded`). If it cannot be read now, the claim is given
 * back (its attempt returned) before the error goes up, so that a failed read
 * does not cost an attempt.
 */
export async function payloadOfRun(engine: Engine, claimed: StateItem, claimToken: string, loaded: string): Promise<string> {
  if (claimed.payloadRef === undefined) return loaded;
  try {
    return (await getDebouncedPayload(engine.store, claimed.taskId, claimed.payloadRef)) ?? loaded;
  } catch (error) {
    await releaseClaim(engine.store, claimed.taskId, claimToken, engine.now(), claimed).catch(() => false);
    throw error;
  }
}
