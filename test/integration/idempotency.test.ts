import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../lib/engine';
import { enqueue, enqueueByName } from '../../lib/enqueue';
import { DependencyUnavailableError, IdempotencyConflictError } from '../../lib/errors';
import { writeLog } from '../../lib/tasks/examples';
import { call, testApi } from '../support/api';
import { createTestEngine, siblingEngine, startLocalAws, type LocalAws } from '../support/aws';
import { runUntilTerminal } from '../support/drive';
import { serviceUnavailable } from '../support/faults';

/**
 * Idempotency-Key against real dynalite: a replay is the same task with
 * nothing sent again, another request under the key is a 409, a malformed
 * key a 400, and the hold on the sending is released even through errors.
 */
let aws: LocalAws;
let base: Engine;
beforeAll(async () => {
  aws = await startLocalAws();
  base = await createTestEngine(aws);
});
afterAll(async () => aws.close());

describe('Idempotency-Key', () => {
  it('replays the same task without sending a message, before and after it ran', async () => {
    const { engine, sqs } = siblingEngine(aws, base);
    const first = await enqueue(writeLog, { message: 'replayed' }, { idempotencyKey: 'replay-1' }, engine);
    const again = await enqueue(writeLog, { message: 'replayed' }, { idempotencyKey: 'replay-1' }, engine);

    expect(first.created).toBe(true);
    expect(again).toMatchObject({ taskId: first.taskId, created: false, record: { status: 'PENDING', idempotencyKey: 'replay-1' } });
    expect(sqs.count('SendMessage')).toBe(1);

    await runUntilTerminal(base, aws, [first.taskId]);
    const late = await enqueue(writeLog, { message: 'replayed' }, { idempotencyKey: 'replay-1' }, engine);
    expect(late).toMatchObject({ taskId: first.taskId, created: false, record: { status: 'SUCCEEDED', result: { message: 'replayed' } } });
    expect(sqs.count('SendMessage')).toBe(1);
  });

  it('refuses the key for another request: another payload, delay or priority', async () => {
    await enqueueByName(base, 'write_log', { message: 'm' }, { idempotencyKey: 'conflict-1', delaySeconds: 5 });
    for (const options of [{ delaySeconds: 6 }, { delaySeconds: 5, priority: 'high' as const }]) {
      await expect(enqueueByName(base, 'write_log', { message: 'm' }, { idempotencyKey: 'conflict-1', ...options })).rejects.toBeInstanceOf(IdempotencyConflictError);
    }
    await expect(enqueueByName(base, 'write_log', { message: 'n' }, { idempotencyKey: 'conflict-1', delaySeconds: 5 })).rejects.toBeInstanceOf(IdempotencyConflictError);
    const same = await enqueueByName(base, 'write_log', { message: 'm' }, { idempotencyKey: 'conflict-1', delaySeconds: 5 });
    expect(same.created).toBe(false);
  });

  it('answers 400 for a malformed key and accepts one of exactly 255 printable characters', async () => {
    const api = testApi(base);
    const body = { name: 'write_log', payload: { message: 'k' } };
    for (const key of ['x'.repeat(256), 'with space', 'naïve', 'tab\tkey']) {
      const res = await call(api, 'POST', '/tasks', { body, headers: { 'idempotency-key': key } });
      expect(res.status, key).toBe(400);
      expect(res.body!.error.code).toBe('validation_error');
    }
    const longest = await call(api, 'POST', '/tasks', { body, headers: { 'idempotency-key': `${'k'.repeat(254)}~` } });
    expect(longest.status).toBe(202);
  });

  it('releases the hold on the sending through DynamoDB errors, so the next request answers at once', async () => {
    const { engine, dynamo } = siblingEngine(aws, base);
    const refused = dynamo.add({ command: 'UpdateItem', effect: 'fail', times: 2, error: serviceUnavailable, when: (input) => String(input.UpdateExpression).endsWith(' REMOVE dispatch') && String(input.UpdateExpression).startsWith('SET wt') });

    const first = await enqueue(writeLog, { message: 'held' }, { idempotencyKey: 'release-1' }, engine);

    expect(refused.hits).toBe(2);
    expect(first.created).toBe(true);
    expect((await base.store.getState(first.taskId))?.dispatch).toBeUndefined();
    const started = Date.now();
    expect(await enqueue(writeLog, { message: 'held' }, { idempotencyKey: 'release-1' }, base)).toMatchObject({ taskId: first.taskId, created: false });
    expect(Date.now() - started).toBeLessThan(base.config.dispatchHoldMs);
  });

  it('gives up releasing after five refused tries, 100, 200, 400 and 800 ms apart, with a 503 naming the UpdateItem, and stops the task it sent', async () => {
    const { engine, dynamo, sqs } = siblingEngine(aws, base);
    // A sixth try would land: a request that tried on would answer 202.
    const refused = dynamo.add({ command: 'UpdateItem', effect: 'fail', times: 5, error: serviceUnavailable, when: (input) => String(input.UpdateExpression).endsWith(' REMOVE dispatch') && String(input.UpdateExpression).startsWith('SET wt') });

    const started = Date.now();
    const error = await enqueue(writeLog, { message: 'never released' }, { idempotencyKey: 'release-2' }, engine).catch((e: unknown) => e);

    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(refused.hits).toBe(5);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(error).toMatchObject({ dependency: 'dynamodb', message: 'DynamoDB UpdateItem failed' });
    // Its message is out, but a 503 means nothing runs: the task is stopped, and its message runs nothing.
    const sent = sqs.calls.filter((c) => c.command === 'SendMessage');
    expect(sent).toHaveLength(1);
    const { taskId } = JSON.parse(String(sent[0]!.input.MessageBody)) as { taskId: string };
    expect(await base.store.getState(taskId)).toMatchObject({ status: 'CANCELLED', stopped: 'enqueue_failed', error: { type: 'EnqueueFailed' } });
  });

  it('answers 202 as the creator when its release landed but the answer was lost (the retry finds the hold gone)', async () => {
    const { engine, dynamo } = siblingEngine(aws, base);
    const lost = dynamo.add({ command: 'UpdateItem', effect: 'lose-answer', step: 'deserialize', times: 1, error: serviceUnavailable, when: (input) => String(input.UpdateExpression).endsWith(' REMOVE dispatch') && String(input.UpdateExpression).startsWith('SET wt') });

    const first = await enqueue(writeLog, { message: 'lost release' }, { idempotencyKey: 'release-3' }, engine);

    expect(lost.hits).toBe(1);
    expect(first).toMatchObject({ created: true, record: { status: 'PENDING' } });
    expect((await base.store.getState(first.taskId))?.dispatch).toBeUndefined();
  });
});

describe('Idempotency-Key marker and state', () => {
  it('costs a first request one marker write, one state read, the state and task writes and the release; a replay reads strongly consistent and writes nothing', async () => {
    const { engine, dynamo } = siblingEngine(aws, base);
    const first = await enqueue(writeLog, { message: 'cost' }, { idempotencyKey: 'cost-1' }, engine);

    expect(dynamo.calls.map((c) => c.command)).toEqual(['PutItem', 'GetItem', 'PutItem', 'PutItem', 'UpdateItem']);
    dynamo.clear();
    const again = await enqueue(writeLog, { message: 'cost' }, { idempotencyKey: 'cost-1' }, engine);

    expect(again).toMatchObject({ taskId: first.taskId, created: false });
    // The failed marker write, then the marker (which another request may have written a moment ago) and the state.
    expect(dynamo.calls.map((c) => c.command)).toEqual(['PutItem', 'GetItem', 'GetItem', 'BatchGetItem']);
    expect(dynamo.calls.filter((c) => c.command === 'GetItem').map((c) => c.input.ConsistentRead)).toEqual([true, true]);
  });

  it('starts the state of a new keyed task as PENDING run 1 with nothing attempted, and releases the hold once sent', async () => {
    const first = await enqueue(writeLog, { message: 'state' }, { idempotencyKey: 'state-1' }, base);

    const state = await base.store.getState(first.taskId);
    expect(state).toMatchObject({ taskId: first.taskId, name: 'write_log', status: 'PENDING', run: 1, attempts: 0, claimableAt: 0, attemptLog: [] });
    expect(state).not.toHaveProperty('dispatch');
  });

  it('takes the key afresh, for a new task, when its marker expires between the refused write and the read', async () => {
    const first = await enqueue(writeLog, { message: 'expiring' }, { idempotencyKey: 'expired-1' }, base);
    const { engine, dynamo } = siblingEngine(aws, base);
    dynamo.add({
      command: 'GetItem',
      effect: 'delay',
      times: 1,
      when: (input) => input.Key?.sk === 'marker',
      before: async (input) => void (await base.store.client.send(new DeleteCommand({ TableName: base.config.tableName, Key: input.Key }))),
    });

    const second = await enqueue(writeLog, { message: 'expiring' }, { idempotencyKey: 'expired-1' }, engine);

    expect(second.created).toBe(true);
    expect(second.taskId).not.toBe(first.taskId);
    expect(await enqueue(writeLog, { message: 'expiring' }, { idempotencyKey: 'expired-1' }, base)).toMatchObject({ taskId: second.taskId, created: false });
  });
});
