import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Engine } from '../../lib/engine';
import { enqueue } from '../../lib/enqueue';
import { processBatch } from '../../lib/worker';
import { newTaskId } from '../../lib/keys';
import { newTaskItems } from '../../lib/store/items';
import { defineTask } from '../../lib/task';
import { fail, flaky, sleep, writeLog } from '../../lib/tasks/examples';
import { createTestEngine, startLocalAws, type LocalAws } from '../support/aws';
import { runUntilTerminal } from '../support/drive';
import { lambdaContext, receiveAll } from '../support/events';
import { expectErrorLogs } from '../support/logs';

// Its tasks fail and its messages are poison, on purpose.
expectErrorLogs(
  'Message is not a task message',
  'Task failed',
  'Task message could not be processed; SQS will deliver it again',
);

let aws: LocalAws;
let engine: Engine;

const sideEffects = new Map<string, number>();
const counted = defineTask({
  name: 'test_counted',
  payload: z.object({ key: z.string(), ms: z.number().default(0) }),
  maxAttempts: 2,
  run: async ({ key, ms }) => {
    sideEffects.set(key, (sideEffects.get(key) ?? 0) + 1);
    await new Promise((r) => setTimeout(r, ms));
    return { key };
  },
});

beforeAll(async () => {
  aws = await startLocalAws();
  engine = await createTestEngine(aws);
});
afterAll(async () => aws.close());

/** Writes a task as enqueue would, under a name no task here is registered with (a type a newer deploy removed). */
async function putTaskOfUnknownType(engine: Engine): Promise<string> {
  const taskId = newTaskId();
  const now = new Date();
  const task = { taskId, name: 'no_such_task', payload: {}, priority: 'default' as const, maxAttempts: 3, timeoutSeconds: 30, createdAt: now.toISOString(), expiresAt: Math.floor(now.getTime() / 1000) + 3600 };
  await engine.store.create(newTaskItems(task, '{}', 2));
  return taskId;
}

describe('worker', () => {
  it('runs a task to SUCCEEDED and keeps its result and attempt', async () => {
    const { taskId } = await enqueue(writeLog, { message: 'hello' }, {}, engine);
    expect((await engine.store.get(taskId))?.status).toBe('PENDING');

    const [record] = await runUntilTerminal(engine, aws, [taskId]);

    expect(record).toMatchObject({ status: 'SUCCEEDED', attempts: 1, result: { message: 'hello' } });
    expect(record!.attemptLog).toHaveLength(1);
    expect(record!.attemptLog[0]).toMatchObject({ attempt: 1, outcome: 'succeeded' });
    expect(record!.finishedAt).toBeDefined();
    expect(record!.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('retries a task that fails twice and ends SUCCEEDED with 3 attempts', async () => {
    const { taskId } = await enqueue(flaky, { failTimes: 2, key: 'twice' }, {}, engine);

    const [record] = await runUntilTerminal(engine, aws, [taskId]);

    expect(record).toMatchObject({ status: 'SUCCEEDED', attempts: 3, result: { key: 'twice', succeededOnAttempt: 3 } });
    expect(record!.attemptLog.map((a) => a.outcome)).toEqual(['failed', 'failed', 'succeeded']);
    expect(record!.attemptLog[0]!.error).toEqual({ type: 'Error', message: 'flaky twice: failing attempt 1 of 2' });
  });

  it('ends a task that always fails FAILED after maxAttempts, with its error kept', async () => {
    const { taskId } = await enqueue(fail, { message: 'boom' }, { maxAttempts: 2 }, engine);

    const [record] = await runUntilTerminal(engine, aws, [taskId]);

    expect(record).toMatchObject({ status: 'FAILED', attempts: 2, error: { type: 'Error', message: 'boom' } });
    expect(record!.attemptLog).toHaveLength(2);
  });

  it('runs the ten tasks of one batch concurrently', async () => {
    const ids = await Promise.all(Array.from({ length: 10 }, () => enqueue(sleep, { ms: 1000 }, {}, engine).then((t) => t.taskId)));
    const event = await receiveAll(aws.sqs, engine.config.queueUrls.default, 10);
    expect(event.Records).toHaveLength(10);

    const started = Date.now();
    const response = await processBatch(engine, event, lambdaContext());
    const elapsed = Date.now() - started;

    expect(response.batchItemFailures).toEqual([]);
    expect(elapsed).toBeLessThan(4_000); // ten in sequence would take 10 s
    const records = await Promise.all(ids.map((id) => engine.store.get(id)));
    expect(records.every((r) => r?.status === 'SUCCEEDED')).toBe(true);
  });

  it('runs the handler once when the same message is delivered twice at the same time, and keeps the copy until the lease ends', async () => {
    const { taskId } = await enqueue(counted, { key: 'dup-concurrent', ms: 200 }, {}, engine);
    const event = await receiveAll(aws.sqs, engine.config.queueUrls.default, 1);
    const twice = { Records: [event.Records[0]!, { ...event.Records[0]!, messageId: 'duplicate' }] };

    const response = await processBatch(engine, twice, lambdaContext());

    // The copy found the task running under a live lease: it comes back then, and will find the task finished.
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'duplicate' }]);
    expect(sideEffects.get('dup-concurrent')).toBe(1);
    expect((await engine.store.get(taskId))?.status).toBe('SUCCEEDED');
    expect(await processBatch(engine, { Records: [twice.Records[1]!] }, lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(sideEffects.get('dup-concurrent')).toBe(1);
  });

  it('acknowledges and skips a duplicate delivery of a finished task', async () => {
    const { taskId } = await enqueue(counted, { key: 'dup-later' }, {}, engine);
    const event = await receiveAll(aws.sqs, engine.config.queueUrls.default, 1);
    await processBatch(engine, event, lambdaContext());

    const again = await processBatch(engine, event, lambdaContext());

    expect(again.batchItemFailures).toEqual([]);
    expect(sideEffects.get('dup-later')).toBe(1);
    expect((await engine.store.get(taskId))?.attempts).toBe(1);
  });

  it('never fails a batch for its poison messages: a task of an unknown type waits for a worker that knows it, what names no task comes back for the DLQ', async () => {
    const good = await enqueue(writeLog, { message: 'survivor' }, {}, engine);
    const known = await enqueue(writeLog, { message: 'renamed' }, {}, engine);
    const url = engine.config.queueUrls.default;
    // Drain the two real messages, then send poison: one not JSON, one not a task message, one whose record names an unknown task, one with no record.
    const real = await receiveAll(aws.sqs, url, 2);
    const unknownTask = await putTaskOfUnknownType(engine);
    const orphan = JSON.stringify({ v: 2, taskId: '01ARZ3NDEKTSV4RRFFQ69G5FAV', name: 'write_log', run: 1 });
    for (const body of ['not json {', JSON.stringify({ v: 1, taskId: known.taskId, name: 'write_log' }), JSON.stringify({ v: 2, taskId: unknownTask, name: 'no_such_task', run: 1 }), orphan]) {
      await aws.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
    }
    const poison = await receiveAll(aws.sqs, url, 4);
    const goodRecord = real.Records.find((r) => r.body.includes(good.taskId))!;

    const response = await processBatch(engine, { Records: [goodRecord, ...poison.Records] }, lambdaContext());

    const retried = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    const bodies = [goodRecord, ...poison.Records].filter((r) => retried.has(r.messageId)).map((r) => r.body);
    expect(bodies.sort()).toEqual(['not json {', JSON.stringify({ v: 1, taskId: known.taskId, name: 'write_log' }), JSON.stringify({ v: 2, taskId: unknownTask, name: 'no_such_task', run: 1 }), orphan].sort());
    expect((await engine.store.get(good.taskId))?.status).toBe('SUCCEEDED');
    expect(await engine.store.get(unknownTask)).toMatchObject({ status: 'PENDING', attempts: 0 });
    // A message that is not a task message touches no task: it has no run to act on.
    expect((await engine.store.get(known.taskId))?.status).toBe('PENDING');
  });

  it('reports unfinished tasks for retry when the Lambda deadline nears, and records nothing after the invocation’s end', async () => {
    const { taskId } = await enqueue(counted, { key: 'deadline', ms: 3000 }, {}, engine);
    const quick = await enqueue(writeLog, { message: 'quick' }, {}, engine);
    const event = await receiveAll(aws.sqs, engine.config.queueUrls.default, 2);

    const started = Date.now();
    const response = await processBatch(engine, event, lambdaContext(1_500)); // margin 1 s: stops at ~0.5 s

    expect(Date.now() - started).toBeLessThan(2_500);
    const slowMessage = event.Records.find((r) => r.body.includes(taskId))!;
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: slowMessage.messageId }]);
    expect((await engine.store.get(quick.taskId))?.status).toBe('SUCCEEDED');
    // The abandoned attempt ends after the invocation's deadline: its outcome write, past the budget, is given up, as on
    // Lambda, where the environment is frozen or gone by then. The task stays RUNNING until its lease ends, then is taken over.
    await new Promise((r) => setTimeout(r, 3_000));
    const record = await engine.store.get(taskId);
    expect(record).toMatchObject({ status: 'RUNNING', attempts: 1 });
    expect(record!.attemptLog).toHaveLength(0);
  });
});
