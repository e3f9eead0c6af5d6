import type { SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cancelTask } from '../../lib/cancel';
import type { Engine } from '../../lib/engine';
import { enqueue, enqueueMany } from '../../lib/enqueue';
import { DependencyUnavailableError, PayloadTooLargeError } from '../../lib/errors';
import { retryTask } from '../../lib/retry';
import { TABLE_ONLY_LIMITS } from '../../lib/payloads/limits';
import { defineTask } from '../../lib/task';
import { processBatch } from '../../lib/worker';
import { createTestEngine, dedicatedClients, siblingEngine, startLocalAws, type LocalAws } from '../support/aws';
import { recentlyCounted, runUntilTerminal } from '../support/drive';
import { lambdaContext, receiveTaskMessage } from '../support/events';
import { installFaults, leaveUnprocessed } from '../support/faults';
import { createEngine } from '../../lib/engine';
import { TaskStore } from '../../lib/store/taskStore';
import { createDocumentClient } from '../../lib/clients';
import { newTaskId } from '../../lib/keys';
import { expectErrorLogs } from '../support/logs';

// Its tasks fail so that they can be retried; one undo meets a DynamoDB error.
expectErrorLogs(
  'Could not undo a retry whose message was not sent',
  'Task failed',
);

/**
 * A task's life after enqueue, against real dynalite and local-aws-sqs:
 * cancel while it waits to retry, retry after a cancel or a failure (a clean
 * run, or put back as it was when the send fails), its expiry, the payload
 * limit at its boundary, and batch writes beyond 25 items or left unprocessed.
 */
let aws: LocalAws;
let base: Engine;
beforeAll(async () => {
  aws = await startLocalAws();
  base = await createTestEngine(aws);
});
afterAll(async () => aws.close());

const failing = new Set<string>();
const flip = defineTask({
  name: 'life_flip',
  payload: z.object({ key: z.string(), pad: z.string().optional() }),
  maxAttempts: 2,
  backoff: { baseSeconds: 60, maxSeconds: 60 },
  run: ({ key }) => {
    if (failing.has(key)) throw new Error(`${key} fails`);
    return { key };
  },
});

async function runOnce(engine: Engine, taskId: string): Promise<SQSRecord> {
  const message = await receiveTaskMessage(aws.sqs, engine.config.queueUrls.default, taskId);
  await processBatch(engine, { Records: [message] }, lambdaContext());
  return message;
}

const cancelledCount = () => recentlyCounted(base, 'cancelled');

describe('cancel and retry', () => {
  it('cancels a RETRYING task: counted, and its retry message is skipped', async () => {
    failing.add('cancel-retrying');
    const { taskId } = await enqueue(flip, { key: 'cancel-retrying' }, {}, base);
    const message = await runOnce(base, taskId);
    expect(await base.store.get(taskId)).toMatchObject({ status: 'RETRYING', attempts: 1 });
    const counted = await cancelledCount();

    expect(await cancelTask(base, taskId)).toMatchObject({ status: 'CANCELLED', attempts: 1 });

    expect(await cancelledCount()).toBe(counted + 1);
    const record = await base.store.get(taskId);
    expect(record!.nextAttemptAt).toBeUndefined();
    expect(record!.finishedAt).toBeDefined();
    // The retry message comes back after its backoff: it is acknowledged, and nothing runs.
    failing.delete('cancel-retrying');
    expect(await processBatch(base, { Records: [message] }, lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(await base.store.get(taskId)).toMatchObject({ status: 'CANCELLED', attempts: 1 });
  });

  it('retries a CANCELLED task as a clean run: a new run number, no error, its attempts from one', async () => {
    failing.add('retry-cancelled');
    const { taskId } = await enqueue(flip, { key: 'retry-cancelled' }, {}, base);
    await runOnce(base, taskId);
    await cancelTask(base, taskId);
    failing.delete('retry-cancelled');

    const retried = await retryTask(base, taskId);

    expect(retried).toMatchObject({ status: 'PENDING', run: 2, attempts: 0 });
    expect(retried.error).toBeUndefined();
    expect(retried.finishedAt).toBeUndefined();
    // The first run's retry message is still in the queue; the new run's message is the one that counts.
    const [record] = await runUntilTerminal(base, aws, [taskId]);
    expect(record).toMatchObject({ status: 'SUCCEEDED', run: 2, attempts: 1, result: { key: 'retry-cancelled' } });
    expect(record!.error).toBeUndefined();
    expect(record!.attemptLog.map((a) => [a.run, a.outcome])).toEqual([[1, 'failed'], [2, 'succeeded']]);
  });

  it('puts a retried task back as it was, but for its run number, when its message cannot be sent', async () => {
    failing.add('retry-undo');
    const { taskId } = await enqueue(flip, { key: 'retry-undo' }, { maxAttempts: 1 }, base);
    await runOnce(base, taskId);
    const before = await base.store.get(taskId);
    expect(before).toMatchObject({ status: 'FAILED', run: 1 });
    const { engine, sqs } = siblingEngine(aws, base);
    sqs.add({ command: 'SendMessage', effect: 'fail' });

    await expect(retryTask(engine, taskId)).rejects.toBeInstanceOf(DependencyUnavailableError);

    const after = await base.store.get(taskId);
    // The new run number stays, so that a message of it that did go out finds nothing to run. The expiry the retry
    // moved on stays moved: the task is kept longer, never shorter.
    const { run, updatedAt, expiresAt, ...rest } = before!;
    expect(run).toBe(1);
    expect(after).toEqual({ ...rest, run: 2, updatedAt: after!.updatedAt, expiresAt: after!.expiresAt });
    expect(Date.parse(after!.updatedAt)).toBeGreaterThanOrEqual(Date.parse(updatedAt));
    expect(after!.expiresAt).toBeGreaterThanOrEqual(expiresAt);
  });
});

describe('a retry whose message cannot be sent', () => {
  async function failedTask(key: string): Promise<string> {
    failing.add(key);
    const { taskId } = await enqueue(flip, { key }, { maxAttempts: 1 }, base);
    await runOnce(base, taskId);
    failing.delete(key);
    return taskId;
  }

  it('still fails when the undo meets a DynamoDB error too; the task is left PENDING, as documented', async () => {
    const taskId = await failedTask('undo-fails');
    const { engine, sqs, dynamo } = siblingEngine(aws, base);
    sqs.add({ command: 'SendMessage', effect: 'fail' });
    // The reset goes through; the undo is refused.
    dynamo.add({ command: 'UpdateItem', effect: 'fail', when: (input) => String(input.ConditionExpression).includes('attempts = :zero') });

    await expect(retryTask(engine, taskId)).rejects.toBeInstanceOf(DependencyUnavailableError);

    expect(await base.store.get(taskId)).toMatchObject({ status: 'PENDING', run: 2 });
  });

  it('answers with the task when the send landed and a worker claimed the new run before the undo', async () => {
    const taskId = await failedTask('undo-too-late');
    const { engine, sqs } = siblingEngine(aws, base);
    sqs.add({ command: 'SendMessage', effect: 'lose-answer', after: async () => void (await runOnce(base, taskId)) });

    const record = await retryTask(engine, taskId);

    expect(record).toMatchObject({ taskId, run: 2, status: 'SUCCEEDED', attempts: 1 });
  });
});

describe('limits and expiry', () => {
  it('expires a record after the retention period, counted from now', async () => {
    const now = Math.floor(Date.now() / 1000);
    const { taskId } = await enqueue(flip, { key: 'expiry' }, {}, base);
    const expiresAt = (await base.store.getItems(taskId)).task!.expiresAt;
    expect(expiresAt - now).toBeGreaterThanOrEqual(base.config.retentionDays * 86_400);
    expect(expiresAt - now).toBeLessThanOrEqual(base.config.retentionDays * 86_400 + 2);
  });

  it('accepts a payload of exactly the limit and refuses one byte more (without a bucket: what a DynamoDB item holds)', async () => {
    const overhead = JSON.stringify({ key: 'limit', pad: '' }).length;
    const payload = { key: 'limit', pad: 'p'.repeat(TABLE_ONLY_LIMITS.payloadBytes - overhead) };
    const { taskId } = await enqueue(flip, payload, {}, base);
    expect((await base.store.get(taskId))!.payload).toEqual(payload);
    await expect(enqueue(flip, { ...payload, pad: `${payload.pad}p` }, {}, base)).rejects.toBeInstanceOf(PayloadTooLargeError);
  });
});

/** An engine whose DynamoDB client of its own has `keep` installed. */
/** An engine whose DynamoDB client of its own writes, of the `call`-th BatchWriteItem's `n` items, only the first `keep(call, n)` (leaveUnprocessed). */
function engineLeavingUnprocessed(keep: (call: number, n: number) => number): { engine: Engine; seen: { calls: Array<{ n: number }> } } {
  const clients = dedicatedClients(aws);
  const seen = leaveUnprocessed(installFaults(clients.dynamo), (call, _request, index, n) => index < keep(call, n));
  return { engine: createEngine({ ...base, store: new TaskStore(createDocumentClient(clients.dynamo), base.config.tableName) }), seen };
}

describe('batch writes', () => {
  const items = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ name: 'life_flip', payload: { key: `${prefix}-${i}` }, taskId: newTaskId() }));

  it('writes more than 25 tasks in chunks of at most 25, retrying what DynamoDB left unprocessed', async () => {
    const { engine, seen } = engineLeavingUnprocessed((call, n) => (call <= 2 ? Math.ceil(n / 2) : n));

    const results = await enqueueMany(engine, items('chunks', 30));

    expect(results.every((r) => r.ok)).toBe(true);
    expect(Math.max(...seen.calls.map((c) => c.n))).toBeLessThanOrEqual(25);
    expect(seen.calls.length).toBeGreaterThanOrEqual(4);
    const records = await Promise.all(results.map((r) => (r.ok ? base.store.get(r.task.taskId) : undefined)));
    expect(records.every((r) => r?.status === 'PENDING')).toBe(true);
  });

  it('fails and stops the items DynamoDB keeps leaving unprocessed; the others are enqueued', async () => {
    const { engine, seen } = engineLeavingUnprocessed((call) => (call === 1 ? 1 : 0));
    const batch = items('unprocessed', 4);

    const results = await enqueueMany(engine, batch);

    expect(seen.calls.map((c) => c.n)).toEqual([4, 3, 3, 3]);
    expect(results.map((r) => r.ok)).toEqual([true, false, false, false]);
    for (const [i, r] of results.entries()) {
      if (r.ok) continue;
      expect(r.error).toBeInstanceOf(DependencyUnavailableError);
      expect(r.error.message).toBe('DynamoDB BatchWriteItem failed');
      expect((await base.store.getState(batch[i]!.taskId))?.stopped).toBe('enqueue_failed');
    }
  });
});
