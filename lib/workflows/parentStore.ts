import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { guardedWrite, newWriteToken, onFailureReturnItem } from '../store/dynamo';
import { attentionKey, copiedFields, stateKey, type StateItem, type TaskItem } from '../store/items';
import type { TaskStore } from '../store/taskStore';
import type { ObjectRef, TaskError } from '../types';

/**
 * The writes on a workflow's own state item (the parent). Each is one
 * conditional write that checks where the workflow stands (the chain's
 * stepAt, the member not yet joined, the status), so that of two deliveries
 * of one step's end, or the last two members of a group ending at once,
 * exactly one moves it; and each carries its own token (guardedWrite), so a
 * write whose answer was lost after it landed still counts as its own.
 */

/** A workflow's state: a task state with where it stands. */
export interface WorkflowState extends StateItem {
  /** A chain: the step running or waiting now (after the last: the chain is over). */
  stepAt?: number;
  /** A group: the members whose end has been counted. */
  joined?: Set<number>;
}

/** The outcome of a conditional write: whether it moved the workflow, and the state it left or found. */
export interface Moved {
  applied: boolean;
  state?: WorkflowState;
}

const LIVE = '#s IN (:running, :waiting)';
const liveValues = { ':running': 'RUNNING', ':waiting': 'WAITING' };

/** Writes a new workflow's state: RUNNING (WAITING when its first step waits for a signal), at its first step. */
export async function createParentState(store: TaskStore, parent: TaskItem, status: 'RUNNING' | 'WAITING', now: Date, kind: 'chain' | 'group'): Promise<void> {
  const token = newWriteToken();
  const state: WorkflowState = {
    ...stateKey(parent.taskId),
    ...copiedFields(parent),
    status,
    run: 1,
    attempts: 0,
    updatedAt: now.toISOString(),
    startedAt: now.toISOString(),
    attemptLog: [],
    ...(kind === 'chain' ? { stepAt: 0 } : {}),
    wt: token,
  };
  await guardedWrite('PutItem', token, () =>
    store.client.send(new PutCommand({ TableName: store.tableName, Item: state, ConditionExpression: 'attribute_not_exists(sk)', ...onFailureReturnItem })),
  );
}

/** Moves a chain from step `from` to the next one, RUNNING or WAITING, if it still stands at `from` in run `run`. */
export async function advanceCursor(store: TaskStore, workflowId: string, run: number, from: number, status: 'RUNNING' | 'WAITING', now: Date): Promise<Moved> {
  return update(store, workflowId, 'SET stepAt = :next, #s = :status', `stepAt = :from AND run = :run AND ${LIVE}`, { ':next': from + 1, ':status': status, ':from': from, ':run': run }, now);
}

/** A chain waiting at step `at` whose wait timed out runs its onTimeout step: RUNNING again, at the same step. */
export async function resumeAt(store: TaskStore, workflowId: string, run: number, at: number, now: Date): Promise<Moved> {
  return update(store, workflowId, 'SET #s = :status', 'stepAt = :at AND run = :run AND #s = :waiting', { ':status': 'RUNNING', ':at': at, ':run': run, ':waiting': 'WAITING' }, now, false);
}

/** Counts member `index`'s end in a group, once: the state it leaves says how many have ended. */
export async function joinMember(store: TaskStore, workflowId: string, run: number, index: number, now: Date): Promise<Moved> {
  return update(store, workflowId, 'ADD joined :member', `run = :run AND #s = :running AND NOT contains(joined, :index)`, { ':member': new Set([index]), ':index': index, ':run': run, ':running': 'RUNNING' }, now, false);
}

/** How a workflow ends: with a result (its last step's, or a group's results), or an error. */
export type WorkflowOutcome =
  | { status: 'SUCCEEDED'; resultJson?: string; resultObject?: ObjectRef }
  | { status: 'FAILED' | 'CANCELLED'; error: TaskError };

/**
 * Ends a workflow, if it is still live in run `run` and (a chain) at step `at`.
 * Later deliveries of the same end find it over and change nothing.
 */
export async function finishWorkflow(store: TaskStore, workflowId: string, run: number, at: number | undefined, outcome: WorkflowOutcome, now: Date): Promise<Moved> {
  const values: Record<string, unknown> = { ':status': outcome.status, ':run': run };
  let set = '#s = :status, finishedAt = :now';
  if (outcome.status === 'SUCCEEDED') {
    if (outcome.resultObject) {
      set += ', resultObject = :result';
      values[':result'] = outcome.resultObject;
    } else {
      set += ', resultJson = :result';
      values[':result'] = outcome.resultJson ?? 'null';
    }
  } else {
    set += ', #e = :error, attention = :attention';
    values[':error'] = outcome.error;
    values[':attention'] = attentionKey(outcome.status, workflowId);
  }
  if (at !== undefined) values[':at'] = at;
  const where = `run = :run AND ${LIVE}${at === undefined ? '' : ' AND stepAt = :at'}`;
  return update(store, workflowId, `SET ${set}`, where, values, now);
}

/**
 * Opens a FAILED or CANCELLED workflow again as run `run + 1`: RUNNING, with
 * no error, a group's failed `members` uncounted. Its steps are retried by the caller.
 */
export async function reopenWorkflow(store: TaskStore, workflowId: string, before: WorkflowState, status: 'RUNNING' | 'WAITING', members: number[], now: Date, expiresAt: number): Promise<Moved> {
  const values: Record<string, unknown> = { ':status': status, ':run': before.run, ':next': before.run + 1, ':read': before.status, ':exp': expiresAt };
  let expression = 'SET #s = :status, run = :next, expiresAt = :exp REMOVE #e, finishedAt, attention, resultJson, resultObject';
  if (members.length > 0) {
    expression += ' DELETE joined :members';
    values[':members'] = new Set(members);
  }
  return update(store, workflowId, expression, 'run = :run AND #s = :read', values, now);
}

async function update(store: TaskStore, workflowId: string, expression: string, condition: string, values: Record<string, unknown>, now: Date, live = true): Promise<Moved> {
  const token = newWriteToken();
  // updatedAt and the token ride in the SET clause, wherever it is in the expression.
  const withStamp = expression.replace(/^SET /, 'SET updatedAt = :now, wt = :wt, ').replace(/^(ADD|DELETE) /, 'SET updatedAt = :now, wt = :wt $1 ');
  const out = await guardedWrite('UpdateItem', token, () =>
    store.client.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: stateKey(workflowId),
        UpdateExpression: withStamp,
        ConditionExpression: condition,
        ExpressionAttributeNames: { '#s': 'status', ...(expression.includes('#e') ? { '#e': 'error' } : {}) },
        ExpressionAttributeValues: { ...(live && condition.includes(':waiting') ? liveValues : {}), ...values, ':now': now.toISOString(), ':wt': token },
        ReturnValues: 'ALL_NEW',
        ...onFailureReturnItem,
      }),
    ),
  );
  const state = (out.applied ? (out.output?.Attributes ?? out.item) : out.item) as WorkflowState | undefined;
  return { applied: out.applied, state };
}
