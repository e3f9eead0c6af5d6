import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../lib/engine';
import { claimTask, endLease, finishAttempt, markTaskFailed, releaseClaim } from '../../lib/store/claims';
import { newWriteToken } from '../../lib/store/dynamo';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ATTEMPT_LOG_LIMIT, attentionKey, stateKey, type StateItem } from '../../lib/store/items';
import type { AttemptRecord } from '../../lib/types';
import { createTestEngine, siblingEngine, startLocalAws, type LocalAws } from '../support/aws';
import { storedTask } from '../support/drive';
import { expectUnavailable, type FaultKit } from '../support/faults';

/**
 * The worker's conditional writes on a task's state (lib/store/claims.ts)
 * against real dynalite: what each changes, what each refuses, and how a
 * DynamoDB failure comes out of each.
 */
let aws: LocalAws;
let engine: Engine;

beforeAll(async () => {
  aws = await startLocalAws();
  engine = await createTestEngine(aws);
});
afterAll(async () => aws.close());

const LEASE_MS = 60_000;

/** A task's definition, and its state as `state` says (none if undefined). */
const taskIn = (state?: Partial<StateItem>) => storedTask(engine, 'claims_task', state);

const entryOf = (claimed: StateItem, durationMs = 5): AttemptRecord => ({ attempt: claimed.attempts, run: claimed.run, startedAt: new Date().toISOString(), durationMs, outcome: 'failed' });

/** The same table through a client with a fault kit. */
function faulty(): { store: Engine['store']; dynamo: FaultKit } {
  const { engine: sibling, dynamo } = siblingEngine(aws, engine);
  return { store: sibling.store, dynamo };
}

describe('claimTask', () => {
  it('creates the state of an untouched task for run 1 only: a later run exists only once a retry wrote it', async () => {
    const task = await taskIn();
    const now = new Date();

    expect((await claimTask(engine.store, task, 2, now, LEASE_MS)).claimed).toBeUndefined();
    expect(await engine.store.getState(task.taskId)).toBeUndefined();

    expect((await claimTask(engine.store, task, 1, now, LEASE_MS)).claimed).toMatchObject({ status: 'RUNNING', run: 1, attempts: 1, claimableAt: now.getTime() + LEASE_MS });
  });

  it('takes a PENDING task out of a request’s hold: the claimed state has no dispatch', async () => {
    const task = await taskIn({ dispatch: { owner: 'request', until: Date.now() + 10_000 } });

    const claimed = (await claimTask(engine.store, task, 1, new Date(), LEASE_MS)).claimed;

    expect(claimed).toMatchObject({ status: 'RUNNING', attempts: 1 });
    expect(claimed).not.toHaveProperty('dispatch');
    expect(await engine.store.getState(task.taskId)).not.toHaveProperty('dispatch');
  });

  it('rejects as DynamoDB UpdateItem unavailable when the write fails', async () => {
    const task = await taskIn();
    const { store, dynamo } = faulty();
    dynamo.add({ command: 'UpdateItem', effect: 'fail' });

    await expectUnavailable(claimTask(store, task, 1, new Date(), LEASE_MS), 'UpdateItem');
  });
});

describe('finishAttempt', () => {
  it('ends a FAILED attempt finished, flagged for attention, with no claim time left', async () => {
    const task = await taskIn();
    const claimed = (await claimTask(engine.store, task, 1, new Date(), LEASE_MS)).claimed!;
    const error = { type: 'Error', message: 'boom' };

    expect(await finishAttempt(engine.store, claimed, entryOf(claimed), { status: 'FAILED', error }, new Date())).toBe('FAILED');

    const state = await engine.store.getState(task.taskId);
    expect(state).toMatchObject({ status: 'FAILED', error, attention: attentionKey('FAILED', task.taskId), finishedAt: expect.any(String), durationMs: 5 });
    expect(state).not.toHaveProperty('claimableAt');
    expect(state).not.toHaveProperty('attemptStartedAt');
  });

  it('returns false and changes nothing when the attempt no longer owns the task', async () => {
    const task = await taskIn();
    const first = (await claimTask(engine.store, task, 1, new Date(Date.now() - 2 * LEASE_MS), LEASE_MS)).claimed!;
    // Its lease ended, and another worker took the task over.
    const second = (await claimTask(engine.store, task, 1, new Date(), LEASE_MS)).claimed!;

    expect(await finishAttempt(engine.store, first, entryOf(first), { status: 'SUCCEEDED', resultJson: '1' }, new Date())).toBe(false);
    expect(await engine.store.getState(task.taskId)).toMatchObject({ status: 'RUNNING', attempts: 2, claimableAt: second.claimableAt });
  });

  it('returns false at once for an attempt that lost the task, whatever it reports, even with a cancel asked of the run', async () => {
    const task = await taskIn();
    const first = (await claimTask(engine.store, task, 1, new Date(Date.now() - 10_000), 1_000)).claimed!;
    // Its lease ended and another attempt took over; then a client asked to cancel the run.
    const second = (await claimTask(engine.store, task, 1, new Date(), LEASE_MS)).claimed!;
    await engine.store.client.send(
      new UpdateCommand({ TableName: engine.store.tableName, Key: stateKey(task.taskId), UpdateExpression: 'SET cancelRequestedAt = :at', ExpressionAttributeValues: { ':at': new Date().toISOString() } }),
    );
    const error = { type: 'Error', message: 'late' };

    expect(await finishAttempt(engine.store, first, entryOf(first), { status: 'FAILED', error }, new Date())).toBe(false);
    expect(await finishAttempt(engine.store, first, entryOf(first), { status: 'RETRYING', error, nextAttemptAt: Date.now() }, new Date())).toBe(false);
    expect(await engine.store.getState(task.taskId)).toMatchObject({ status: 'RUNNING', attempts: 2, claimableAt: second.claimableAt });
  });

  it('starts the attempt log of a state that has none, and keeps only the last ten entries', async () => {
    const bare = await taskIn();
    const claimed = (await claimTask(engine.store, bare, 1, new Date(), LEASE_MS)).claimed!;
    const { attemptLog: _none, ...withoutLog } = claimed;
    const entry = entryOf(claimed);

    await finishAttempt(engine.store, withoutLog, entry, { status: 'SUCCEEDED', resultJson: '1' }, new Date());
    expect((await engine.store.getState(bare.taskId))!.attemptLog).toEqual([entry]);

    const older = Array.from({ length: ATTEMPT_LOG_LIMIT }, (_, i) => ({ ...entry, attempt: i + 1, durationMs: i }));
    const full = await taskIn({ attemptLog: older, maxAttempts: 20, attempts: ATTEMPT_LOG_LIMIT, status: 'RETRYING' });
    const again = (await claimTask(engine.store, full, 1, new Date(), LEASE_MS)).claimed!;
    const last = entryOf(again, 99);

    await finishAttempt(engine.store, again, last, { status: 'SUCCEEDED', resultJson: '1' }, new Date());
    expect((await engine.store.getState(full.taskId))!.attemptLog).toEqual([...older.slice(1), last]);
  });

  it('rejects as DynamoDB UpdateItem unavailable when the write fails', async () => {
    const task = await taskIn();
    const claimed = (await claimTask(engine.store, task, 1, new Date(), LEASE_MS)).claimed!;
    const { store, dynamo } = faulty();
    dynamo.add({ command: 'UpdateItem', effect: 'fail' });

    await expect(finishAttempt(store, claimed, entryOf(claimed), { status: 'SUCCEEDED', resultJson: '1' }, new Date())).rejects.toMatchObject({
      dependency: 'dynamodb',
      message: 'DynamoDB UpdateItem failed',
    });
  });
});

describe('releaseClaim', () => {
  it('gives a first attempt back: PENDING, no attempt spent, claimable now, no start time; only with the claim\'s own token', async () => {
    const task = await taskIn();
    const token = newWriteToken();
    const claimedAt = new Date(Date.now() - 1_000);
    const { claimed } = await claimTask(engine.store, task, 1, claimedAt, LEASE_MS, token);
    const now = new Date();

    expect(await releaseClaim(engine.store, task.taskId, newWriteToken(), now, claimed)).toBe(false);
    expect(await engine.store.getState(task.taskId)).toMatchObject({ status: 'RUNNING', attempts: 1 });
    expect(await releaseClaim(engine.store, task.taskId, token, now, claimed)).toBe(true);

    const state = (await engine.store.getState(task.taskId))!;
    expect(state).toMatchObject({ status: 'PENDING', attempts: 0, claimableAt: now.getTime() });
    expect([state.startedAt, state.attemptStartedAt, state.wt === token]).toEqual([undefined, undefined, false]);
    // Released once: the same token releases nothing more.
    expect(await releaseClaim(engine.store, task.taskId, token, now)).toBe(false);
  });

  it('gives a later attempt back as RETRYING, keeping when the run started; it reads the state when not given it', async () => {
    const task = await taskIn();
    const first = (await claimTask(engine.store, task, 1, new Date(Date.now() - 120_000), 1_000)).claimed!;
    const token = newWriteToken();
    const { claimed } = await claimTask(engine.store, task, 1, new Date(), LEASE_MS, token);
    expect(claimed).toMatchObject({ attempts: 2 });
    expect(first.startedAt).toEqual(expect.any(String));

    expect(await releaseClaim(engine.store, task.taskId, token, new Date())).toBe(true);

    expect(await engine.store.getState(task.taskId)).toMatchObject({ status: 'RETRYING', attempts: 1, startedAt: first.startedAt });
  });

  it('gives nothing back once the state moved on from the claim (an outcome recorded), nor for a task never claimed', async () => {
    const task = await taskIn();
    const token = newWriteToken();
    const { claimed } = await claimTask(engine.store, task, 1, new Date(), LEASE_MS, token);
    await finishAttempt(engine.store, claimed!, entryOf(claimed!), { status: 'FAILED', error: { type: 'Error', message: 'x' } }, new Date());

    expect(await releaseClaim(engine.store, task.taskId, token, new Date())).toBe(false);
    expect(await engine.store.getState(task.taskId)).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect(await releaseClaim(engine.store, (await taskIn()).taskId, token, new Date())).toBe(false);
  });
});

describe('markTaskFailed', () => {
  const error = { type: 'DeliveryExhausted', message: 'dead letter' };

  it('writes an untouched task’s first state as FAILED, with no attempts and an empty log', async () => {
    const task = await taskIn();

    const failed = await markTaskFailed(engine.store, task, 1, error, new Date());

    const state = await engine.store.getState(task.taskId);
    expect(state).toEqual(failed);
    expect(state).toMatchObject({ status: 'FAILED', run: 1, attempts: 0, attemptLog: [], error, attention: attentionKey('FAILED', task.taskId) });
  });

  it('leaves an untouched task alone for a later run: only a retry writes one', async () => {
    const task = await taskIn();

    expect(await markTaskFailed(engine.store, task, 2, error, new Date())).toBeUndefined();
    expect(await engine.store.getState(task.taskId)).toBeUndefined();
  });

  it('rejects as DynamoDB PutItem, or UpdateItem, unavailable when the write fails', async () => {
    const untouched = await taskIn();
    const retried = await taskIn({ run: 2, status: 'PENDING' });
    const { store, dynamo } = faulty();
    dynamo.add({ command: 'PutItem', effect: 'fail' });
    dynamo.add({ command: 'UpdateItem', effect: 'fail' });

    await expectUnavailable(markTaskFailed(store, untouched, 1, error, new Date()), 'PutItem');
    await expectUnavailable(markTaskFailed(store, retried, 2, error, new Date()), 'UpdateItem');
  });
});

describe('endLease', () => {
  it('ends the lease it read: the task is claimable from now', async () => {
    const task = await taskIn();
    const claimed = (await claimTask(engine.store, task, 1, new Date(), LEASE_MS)).claimed!;
    const now = new Date();

    expect(await endLease(engine.store, task.taskId, claimed.claimableAt, now)).toBe(true);
    expect(await engine.store.getState(task.taskId)).toMatchObject({ status: 'RUNNING', claimableAt: now.getTime() });
  });

  it('leaves a lease other than the one read, or a task no longer RUNNING, as it is', async () => {
    const task = await taskIn();
    const claimed = (await claimTask(engine.store, task, 1, new Date(), LEASE_MS)).claimed!;
    const waiting = await taskIn({ status: 'RETRYING', attempts: 1, claimableAt: Date.now() + LEASE_MS });
    const backoffEnd = (await engine.store.getState(waiting.taskId))!.claimableAt;

    expect(await endLease(engine.store, task.taskId, claimed.claimableAt! - 1, new Date())).toBe(false);
    expect(await endLease(engine.store, waiting.taskId, backoffEnd, new Date())).toBe(false);
    expect(await engine.store.getState(task.taskId)).toMatchObject({ claimableAt: claimed.claimableAt });
    expect(await engine.store.getState(waiting.taskId)).toMatchObject({ status: 'RETRYING', claimableAt: backoffEnd });
  });

  it('rejects as DynamoDB UpdateItem unavailable when the write fails', async () => {
    const task = await taskIn();
    const claimed = (await claimTask(engine.store, task, 1, new Date(), LEASE_MS)).claimed!;
    const { store, dynamo } = faulty();
    dynamo.add({ command: 'UpdateItem', effect: 'fail' });

    await expectUnavailable(endLease(store, task.taskId, claimed.claimableAt, new Date()), 'UpdateItem');
  });
});
