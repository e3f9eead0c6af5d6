import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { guardedWrite, newWriteToken, onFailureReturnItem } from '../store/dynamo';
import { COPIED_FIELDS_SET, copiedFieldValues, stateKey, type StateItem, type TaskItem } from '../store/items';
import type { TaskStore } from '../store/taskStore';
import { defineTask } from '../task';
import * as z from '../zod';
import { WAIT_TASK_NAME_RESERVED } from './types';

/** A waiting step whose signal did not come in time. */
class SignalTimeoutError extends Error {
  constructor(signal: string, timeoutSeconds: number) {
    super(`No "${signal}" signal came within ${timeoutSeconds} s`);
    this.name = 'SignalTimeout';
  }
}

/**
 * A step that waits for a signal is a task of this type, enqueued to run when
 * its timeout ends: until then nothing runs and nothing is billed. A signal
 * ends it first (recordSignal), and its message then finds it over; if the
 * signal never comes, it runs, once, and fails: so does the workflow.
 */
export const waitTask = defineTask({
  name: WAIT_TASK_NAME_RESERVED,
  payload: z.object({ signal: z.string(), timeoutSeconds: z.int() }),
  maxAttempts: 1,
  timeoutSeconds: 5,
  internal: true,
  run: ({ signal, timeoutSeconds }) => {
    throw new SignalTimeoutError(signal, timeoutSeconds);
  },
});

/**
 * Ends a waiting step SUCCEEDED with the signal's data as its result, if it
 * has not started (its timeout has not come). Returns whether it did, and the
 * state that refused it otherwise: already signalled (SUCCEEDED), or timing out.
 */
export async function recordSignal(store: TaskStore, step: TaskItem, dataJson: string, now: Date): Promise<{ applied: boolean; state?: StateItem }> {
  const token = newWriteToken();
  const out = await guardedWrite('UpdateItem', token, () =>
    store.client.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: stateKey(step.taskId),
        UpdateExpression:
          'SET #s = :succeeded, resultJson = :data, finishedAt = :now, updatedAt = :now, wt = :wt, run = if_not_exists(run, :one), attempts = if_not_exists(attempts, :zero), ' +
          `attemptLog = if_not_exists(attemptLog, :noLog), ${COPIED_FIELDS_SET} ` +
          'REMOVE claimableAt',
        // Untouched, or waiting again (a retried workflow) or given back unclaimed: nothing of its timeout has run.
        ConditionExpression: 'attribute_not_exists(sk) OR (#s = :pending AND attempts = :zero)',
        ExpressionAttributeNames: { '#s': 'status', '#n': 'name' },
        ExpressionAttributeValues: {
          ':succeeded': 'SUCCEEDED',
          ':data': dataJson,
          ':now': now.toISOString(),
          ':wt': token,
          ':one': 1,
          ':zero': 0,
          ':noLog': [],
          ':pending': 'PENDING',
          ...copiedFieldValues(step),
        },
        ReturnValues: 'ALL_NEW',
        ...onFailureReturnItem,
      }),
    ),
  );
  const state = (out.applied ? (out.output?.Attributes ?? out.item) : out.item) as StateItem | undefined;
  return { applied: out.applied, state };
}
