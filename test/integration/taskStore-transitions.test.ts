import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DependencyUnavailableError, TaskNotFoundError, TaskStateConflictError } from '../../lib/errors';
import { newTaskId } from '../../lib/keys';
import { claimTask } from '../../lib/store/claims';
import { attentionKey, copiedFields, payloadKey, stateKey, taskKey, type StateItem, type TaskItem } from '../../lib/store/items';
import { listTasks } from '../../lib/store/listing';
import type { TaskStore } from '../../lib/store/taskStore';
import type { TaskStatus } from '../../lib/types';
import type { LocalAws } from '../support/aws';
import { expectUnavailable, rejection, type FaultKit } from '../support/faults';
import { createdTask, openStoreUnderTest, putStateOf } from '../support/storeFixture';

/** Where a retried run's expiry moves to. */
const RETAINED_UNTIL = Math.floor(Date.now() / 1000) + 30 * 86_400;

/**
 * TaskStore's conditional writes against real dynalite: stop, cancel, retry
 * and its undo, the fields each sets and removes, and what each does when
 * the task changed under it. How a task is written and read is in
 * taskStore-writes.
 */
let aws: LocalAws;
let store: TaskStore;
let faulty: TaskStore;
let faults: FaultKit;

beforeAll(async () => {
  ({ aws, store, faulty, faults } = await openStoreUnderTest());
});
afterEach(() => faults.clear());
afterAll(async () => aws.close());

const NOW = new Date('2026-01-01T00:05:00.000Z');
const ERROR = { type: 'EnqueueFailed', message: 'Not enqueued: injected' };

const created = (payloadBytes?: number) => createdTask(store, payloadBytes);
const putState = (task: TaskItem, fields: Partial<StateItem> & { status: TaskStatus }) => putStateOf(store, task, fields);

async function deleteState(taskId: string): Promise<void> {
  await store.client.send(new DeleteCommand({ TableName: store.tableName, Key: stateKey(taskId) }));
}

/** A FAILED task as the worker leaves it, with everything a run sets. */
async function failedTask(): Promise<{ task: TaskItem; state: StateItem }> {
  const task = await created();
  const state = await putState(task, {
    status: 'FAILED',
    attempts: 3,
    startedAt: '2026-01-01T00:00:10.000Z',
    attemptStartedAt: '2026-01-01T00:00:40.000Z',
    finishedAt: '2026-01-01T00:00:41.000Z',
    durationMs: 1000,
    error: { type: 'Error', message: 'boom' },
    resultJson: '{"partial":true}',
    attention: attentionKey('FAILED', task.taskId),
    attemptLog: [{ attempt: 3, run: 1, startedAt: '2026-01-01T00:00:40.000Z', durationMs: 1000, outcome: 'failed', error: { type: 'Error', message: 'boom' } }],
  });
  return { task, state };
}

async function cancelledIds(): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await listTasks(store, { status: 'CANCELLED', limit: 100, cursor });
    ids.push(...page.items.map((t) => t.taskId));
    cursor = page.nextCursor;
  } while (cursor);
  return ids;
}

describe('stop', () => {
  it('stops a task nobody touched: CANCELLED as stopped by enqueue, with its error, and listed as cancelled', async () => {
    const task = await created();

    expect(await store.stop(copiedFields(task), 1, ERROR, NOW)).toBeUndefined();

    expect(await store.getState(task.taskId)).toMatchObject({
      status: 'CANCELLED',
      stopped: 'enqueue_failed',
      error: ERROR,
      run: 1,
      attempts: 0,
      attemptLog: [],
      finishedAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
    });
    expect(await cancelledIds()).toContain(task.taskId);
  });

  it('yields to a worker that claimed the task first: answers with its state, after one write', async () => {
    const task = await created();
    await claimTask(store, task, 1, NOW, 60_000);

    const blocker = await faulty.stop(copiedFields(task), 1, ERROR, NOW);

    expect(blocker).toMatchObject({ status: 'RUNNING', attempts: 1 });
    expect(faults.count('PutItem')).toBe(1);
    expect((await store.getState(task.taskId))?.stopped).toBeUndefined();
  });

  it('lets the owner of an idempotent enqueue stop its PENDING run, and no one else', async () => {
    const task = await created();
    await putState(task, { status: 'PENDING', attempts: 0, claimableAt: 0, dispatch: { owner: 'request-a', until: NOW.getTime() + 10_000 } });

    const blocker = await store.stop(copiedFields(task), 1, ERROR, NOW, 'request-b');
    expect(blocker).toMatchObject({ status: 'PENDING', dispatch: { owner: 'request-a' } });

    expect(await store.stop(copiedFields(task), 1, ERROR, NOW, 'request-a')).toBeUndefined();
    const state = await store.getState(task.taskId);
    expect(state).toMatchObject({ status: 'CANCELLED', stopped: 'enqueue_failed', error: ERROR, finishedAt: NOW.toISOString(), attention: attentionKey('CANCELLED', task.taskId) });
    expect(state?.dispatch).toBeUndefined();
    expect(state?.claimableAt).toBeUndefined();
  });

  it('writes the stopped state afresh when an owner’s state is no longer there (expired), so its message runs nothing', async () => {
    const task = await created();

    expect(await faulty.stop(copiedFields(task), 1, ERROR, NOW, 'request-a')).toBeUndefined();

    expect(faults.count('UpdateItem')).toBe(1);
    expect(faults.count('PutItem')).toBe(1);
    expect(await store.getState(task.taskId)).toMatchObject({ status: 'CANCELLED', stopped: 'enqueue_failed', run: 1, attempts: 0, error: ERROR });
  });

  it('gives up with a 503 after four tries when each write fails its condition and no state comes with the refusal (not a stop it never wrote)', async () => {
    const task = await created();
    // A server that does not return the item on a failed condition (every DynamoDB does; this stands for a race without end).
    faults.add({ command: 'PutItem', effect: 'fail', error: () => new ConditionalCheckFailedException({ message: 'refused, item not returned (injected)', $metadata: {} }) });

    await expectUnavailable(faulty.stop(copiedFields(task), 1, ERROR, NOW, 'request-a'), 'PutItem');

    expect(faults.count('UpdateItem') + faults.count('PutItem')).toBe(4);
    expect(faults.count('GetItem')).toBe(0);
  });

  it('answers 503 naming the write DynamoDB refused', async () => {
    const task = await created();
    faults.add({ command: 'PutItem', effect: 'fail' });
    await expectUnavailable(faulty.stop(copiedFields(task), 1, ERROR, NOW), 'PutItem');
    faults.add({ command: 'UpdateItem', effect: 'fail' });
    await expectUnavailable(faulty.stop(copiedFields(task), 1, ERROR, NOW, 'request-a'), 'UpdateItem');
  });
});

describe('cancel', () => {
  it('refuses a task that does not exist', async () => {
    const taskId = newTaskId();
    const error = await rejection(store.cancel(taskId, NOW));
    expect(error).toBeInstanceOf(TaskNotFoundError);
    expect((error as TaskNotFoundError).taskId).toBe(taskId);
  });

  it('refuses a task that runs, saying so', async () => {
    const task = await created();
    await claimTask(store, task, 1, NOW, 60_000);
    const error = await rejection(store.cancel(task.taskId, NOW));
    expect(error).toBeInstanceOf(TaskStateConflictError);
    expect(error.message).toBe(`Cannot cancel task ${task.taskId}: it is RUNNING`);
  });

  it('cancels a task nobody touched: its state is created CANCELLED, run 1, no attempts, listed as cancelled', async () => {
    const task = await created();

    const record = await store.cancel(task.taskId, NOW);

    expect(record).toMatchObject({ status: 'CANCELLED', run: 1, attempts: 0, attemptLog: [], finishedAt: NOW.toISOString(), updatedAt: NOW.toISOString() });
    expect(await store.getState(task.taskId)).toMatchObject({ status: 'CANCELLED', attemptLog: [] });
    expect(await cancelledIds()).toContain(task.taskId);
  });

  it('cancels a RETRYING task: no next attempt, no dispatch, listed as cancelled', async () => {
    const task = await created();
    await putState(task, { status: 'RETRYING', claimableAt: NOW.getTime() + 60_000, dispatch: { owner: 'request-a', until: 0 } });

    const record = await store.cancel(task.taskId, NOW);

    expect(record).toMatchObject({ status: 'CANCELLED', attempts: 1, finishedAt: NOW.toISOString() });
    expect(record.nextAttemptAt).toBeUndefined();
    const state = await store.getState(task.taskId);
    expect(state?.claimableAt).toBeUndefined();
    expect(state?.dispatch).toBeUndefined();
    expect(state?.attention).toBe(attentionKey('CANCELLED', task.taskId));
  });

  it('answers 503 naming the write DynamoDB refused', async () => {
    faults.add({ command: 'PutItem', effect: 'fail' });
    await expectUnavailable(faulty.cancel((await created()).taskId, NOW), 'PutItem');
    const retrying = await created();
    await putState(retrying, { status: 'RETRYING', claimableAt: 0 });
    faults.add({ command: 'UpdateItem', effect: 'fail' });
    await expectUnavailable(faulty.cancel(retrying.taskId, NOW), 'UpdateItem');
  });

  it('refuses when a worker claims the task between its read and its write', async () => {
    const task = await created();
    faults.add({ command: 'PutItem', effect: 'delay', times: 1, before: async () => void (await claimTask(store, task, 1, NOW, 60_000)) });

    const error = await rejection(faulty.cancel(task.taskId, NOW));

    expect(error).toBeInstanceOf(TaskStateConflictError);
    expect((error as TaskStateConflictError).status).toBe('RUNNING');
    expect(await store.getState(task.taskId)).toMatchObject({ status: 'RUNNING' });
  });

  /** Before each of the first `times` cancel writes, the task moves on to a new RETRYING run. */
  async function keptChanging(times: number): Promise<{ task: TaskItem; outcome: Promise<unknown> }> {
    const task = await created();
    await putState(task, { status: 'RETRYING', claimableAt: 0 });
    let run = 1;
    faults.add({ command: 'UpdateItem', effect: 'delay', times, before: async () => void (await putState(task, { status: 'RETRYING', run: ++run, claimableAt: 0 })) });
    return { task, outcome: faulty.cancel(task.taskId, NOW) };
  }

  it('reads again and cancels when the task changed under it a few times', async () => {
    const { task, outcome } = await keptChanging(2);
    expect(await outcome).toMatchObject({ status: 'CANCELLED', run: 3 });
    expect(faults.count('UpdateItem')).toBe(3);
    expect((await store.getState(task.taskId))?.status).toBe('CANCELLED');
  });

  it('answers 503 when the task kept changing under four tries', async () => {
    const { task, outcome } = await keptChanging(5);
    const error = await rejection(outcome);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(error.message).toBe('DynamoDB UpdateItem failed');
    expect(error.cause).toBe('the task kept changing');
    expect((error as DependencyUnavailableError).dependency).toBe('dynamodb');
    expect(faults.count('UpdateItem')).toBe(4);
    expect((await store.getState(task.taskId))?.status).toBe('RETRYING');
  });
});

describe('resetForRetry and undoRetry', () => {
  it('refuses a task that does not exist', async () => {
    expect(await rejection(store.resetForRetry(newTaskId(), NOW, RETAINED_UNTIL))).toBeInstanceOf(TaskNotFoundError);
  });

  it('refuses a task that has not ended, naming its status: PENDING when nobody touched it', async () => {
    const untouched = await created();
    const pending = await rejection(store.resetForRetry(untouched.taskId, NOW, RETAINED_UNTIL));
    expect(pending).toBeInstanceOf(TaskStateConflictError);
    expect((pending as TaskStateConflictError).status).toBe('PENDING');
    expect(pending.message).toBe(`Cannot retry task ${untouched.taskId}: it is PENDING`);

    const running = await created();
    await claimTask(store, running, 1, NOW, 60_000);
    expect(await rejection(store.resetForRetry(running.taskId, NOW, RETAINED_UNTIL))).toMatchObject({ status: 'RUNNING' });
    expect(await store.getState(running.taskId)).toMatchObject({ status: 'RUNNING', run: 1, attempts: 1 });
  });

  it('makes a FAILED task a new PENDING run: attempts from zero, claimable now, its outcome and timings cleared, its log kept', async () => {
    const { task, state: before } = await failedTask();

    const out = await store.resetForRetry(task.taskId, NOW, RETAINED_UNTIL);

    expect(out.before).toEqual(before);
    expect(out.record).toMatchObject({ status: 'PENDING', run: 2, attempts: 0, updatedAt: NOW.toISOString(), attemptLog: before.attemptLog });
    const state = (await store.getState(task.taskId))!;
    expect(state.claimableAt).toBe(0);
    for (const field of ['error', 'resultJson', 'finishedAt', 'durationMs', 'startedAt', 'attemptStartedAt', 'attention'] as const) {
      expect(state[field]).toBeUndefined();
    }
  });

  it('gives the new run the whole retention: the state, the definition and a payload of its own expire no sooner than it asks', async () => {
    // Created long ago: its items were to expire on 2026-02-01, before the new run could end.
    const task = await created(8 * 1024);
    await putState(task, { status: 'FAILED', error: ERROR });

    const { record } = await store.resetForRetry(task.taskId, NOW, RETAINED_UNTIL);

    expect(record.expiresAt).toBe(RETAINED_UNTIL);
    expect((await store.getState(task.taskId))?.expiresAt).toBe(RETAINED_UNTIL);
    const items = await Promise.all(
      [taskKey(task.taskId), payloadKey(task.taskId)].map(async (Key) => (await store.client.send(new GetCommand({ TableName: store.tableName, Key }))).Item),
    );
    expect(items.map((item) => item?.expiresAt)).toEqual([RETAINED_UNTIL, RETAINED_UNTIL]);
  });

  it('clears what a stopped enqueue left (its stop mark, the hold) when the task is retried', async () => {
    const task = await created();
    await putState(task, { status: 'CANCELLED', attempts: 0, stopped: 'enqueue_failed', dispatch: { owner: 'crashed-request', until: 1 }, error: ERROR });

    await store.resetForRetry(task.taskId, NOW, RETAINED_UNTIL);

    const state = (await store.getState(task.taskId))!;
    expect(state).toMatchObject({ status: 'PENDING', run: 2 });
    expect(state.stopped).toBeUndefined();
    expect(state.dispatch).toBeUndefined();
  });

  it('answers 503 naming UpdateItem when DynamoDB refuses the reset', async () => {
    const { task } = await failedTask();
    faults.add({ command: 'UpdateItem', effect: 'fail' });
    await expectUnavailable(faulty.resetForRetry(task.taskId, NOW, RETAINED_UNTIL), 'UpdateItem');
  });

  it('refuses, naming the status it finds then, when the task changed between its read and its write', async () => {
    const { task } = await failedTask();
    // Another request retried it, and a worker claimed the new run.
    faults.add({ command: 'UpdateItem', effect: 'delay', times: 1, before: async () => void (await putState(task, { status: 'RUNNING', run: 2, claimableAt: NOW.getTime() + 60_000 })) });
    const error = await rejection(faulty.resetForRetry(task.taskId, NOW, RETAINED_UNTIL));
    expect(error).toBeInstanceOf(TaskStateConflictError);
    expect((error as TaskStateConflictError).status).toBe('RUNNING');
    expect(error.message).toBe(`Cannot retry task ${task.taskId}: it is RUNNING`);

    // Its state gone (expired) in between: as a task with no state, PENDING.
    const { task: other } = await failedTask();
    faults.add({ command: 'UpdateItem', effect: 'delay', times: 1, before: () => deleteState(other.taskId) });
    expect(await rejection(faulty.resetForRetry(other.taskId, NOW, RETAINED_UNTIL))).toMatchObject({ status: 'PENDING', message: `Cannot retry task ${other.taskId}: it is PENDING` });
  });

  it('puts a retried task back as it was, keeping the new run number and no claimable time', async () => {
    const { task, state: before } = await failedTask();
    await store.resetForRetry(task.taskId, NOW, RETAINED_UNTIL);
    const later = new Date(NOW.getTime() + 1_000);

    expect(await store.undoRetry(before, later)).toBe(true);

    const state = (await store.getState(task.taskId))!;
    expect(state).toMatchObject({
      status: 'FAILED',
      run: 2,
      attempts: 3,
      error: before.error,
      finishedAt: before.finishedAt,
      startedAt: before.startedAt,
      durationMs: before.durationMs,
      attention: before.attention,
      updatedAt: later.toISOString(),
    });
    expect(state.claimableAt).toBeUndefined();
    expect((await listTasks(store, { status: 'FAILED', limit: 100 })).items.map((t) => t.taskId)).toContain(task.taskId);
  });

  it('does not put back a retried task whose new run a worker claimed, and answers 503 naming UpdateItem when it cannot write', async () => {
    const { task, state: before } = await failedTask();
    await store.resetForRetry(task.taskId, NOW, RETAINED_UNTIL);
    faults.add({ command: 'UpdateItem', effect: 'fail', times: 1 });
    await expectUnavailable(faulty.undoRetry(before, NOW), 'UpdateItem');

    await claimTask(store, task, 2, NOW, 60_000);
    expect(await store.undoRetry(before, NOW)).toBe(false);
    expect(await store.getState(task.taskId)).toMatchObject({ status: 'RUNNING', run: 2, attempts: 1 });
  });
});
