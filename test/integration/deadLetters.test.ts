import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cancelTask } from '../../lib/cancel';
import { MAX_REDRIVES, processDeadLetters } from '../../lib/deadLetters';
import type { Engine } from '../../lib/engine';
import { enqueue } from '../../lib/enqueue';
import { newTaskId } from '../../lib/keys';
import { retryTask } from '../../lib/retry';
import { markTaskFailed } from '../../lib/store/claims';
import { defineTask } from '../../lib/task';
import { fromStored } from '../../lib/tracing/storedTrace';
import { processBatch } from '../../lib/worker';
import { createTestEngine, siblingEngine, startLocalAws, type LocalAws } from '../support/aws';
import { claimById, recentlyCounted } from '../support/drive';
import { lambdaContext, receiveTaskMessage } from '../support/events';
import { internalServerError } from '../support/faults';
import { expectErrorLogs } from '../support/logs';

// Dead letters are what it handles; some tests refuse DynamoDB.
expectErrorLogs(
  'Could not record a dead-lettered task; will retry',
  'Dead-lettered message is not a task message; dropped',
  'Dead-lettered task',
);

/**
 * The DLQ consumer against real dynalite: each dead letter ends its run as
 * FAILED (DeliveryExhausted), unless the run is over, superseded, or still
 * running under a live lease; what it cannot decide now is handed back.
 */
let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => aws.close());

const DELIVERY_EXHAUSTED = { type: 'DeliveryExhausted', message: 'The task message was moved to the dead-letter queue after repeated failed deliveries' };

const outcomes = new Map<string, 'fail' | 'succeed'>();
const scripted = defineTask({
  name: 'dlq_scripted',
  payload: z.object({ key: z.string() }),
  maxAttempts: 3,
  backoff: { baseSeconds: 60, maxSeconds: 60 },
  run: ({ key }) => {
    if (outcomes.get(key) === 'fail') throw new Error(`${key} fails`);
    return { key };
  },
});

/** Enqueues one task and takes its message off the queue: the record a DLQ would deliver after the redrive. */
async function deadLetterOf(engine: Engine, key: string, outcome: 'fail' | 'succeed' = 'succeed'): Promise<{ taskId: string; letter: SQSRecord }> {
  outcomes.set(key, outcome);
  const { taskId } = await enqueue(scripted, { key }, {}, engine);
  return { taskId, letter: await receiveTaskMessage(aws.sqs, engine.config.queueUrls.default, taskId) };
}

const letters = (...records: SQSRecord[]): SQSEvent => ({ Records: records });
const failedCount = (engine: Engine) => recentlyCounted(engine, 'failed');
/** The same engine, its clock moved on: a lease that was live is over. */
const later = (engine: Engine, ms: number): Engine => ({ ...engine, now: () => new Date(Date.now() + ms) });

/** A letter of the same run that the DLQ consumer has already sent back `times` times. */
const redriven = (letter: SQSRecord, times: number): SQSRecord => ({ ...letter, messageId: `${letter.messageId}-r${times}`, body: JSON.stringify({ ...JSON.parse(letter.body), redrive: times }) });
/** The message the consumer sent back for `taskId`, as the worker will receive it. */
const sentBack = async (engine: Engine, taskId: string) => JSON.parse((await receiveTaskMessage(aws.sqs, engine.config.queueUrls.default, taskId)).body) as Record<string, unknown>;

describe('dead letters', () => {
  it('send a task that never ran back to its queue, the same run with its redrive counted: nothing is FAILED by an outage', async () => {
    const engine = await createTestEngine(aws);
    const { taskId, letter } = await deadLetterOf(engine, 'pending');

    expect(await processDeadLetters(engine, letters(letter))).toEqual({ batchItemFailures: [] });

    // With the task's trace context, as its definition holds it, so its attempts stay in its trace.
    const { traceparent } = fromStored((await engine.store.getItems(taskId)).task)!;
    expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(await sentBack(engine, taskId)).toEqual({ v: 2, taskId, name: 'dlq_scripted', run: 1, redrive: 1, traceparent });
    expect(await engine.store.get(taskId)).toMatchObject({ status: 'PENDING', attempts: 0 });
    expect(await failedCount(engine)).toBe(0);
  });

  it(`end a run FAILED (DeliveryExhausted) once it has been sent back ${MAX_REDRIVES} times, counted once however often the letter comes`, async () => {
    const engine = await createTestEngine(aws);
    const { taskId, letter } = await deadLetterOf(engine, 'exhausted');
    const last = redriven(letter, MAX_REDRIVES);
    const before = Date.now();

    expect(await processDeadLetters(engine, letters(last))).toEqual({ batchItemFailures: [] });

    const record = await engine.store.get(taskId);
    expect(record).toMatchObject({ status: 'FAILED', attempts: 0, error: DELIVERY_EXHAUSTED });
    expect(Date.parse(record!.finishedAt!)).toBeGreaterThanOrEqual(before - 1);
    expect(await failedCount(engine)).toBe(1);
    // Delivered again (the DLQ is at-least-once too): the run is over, nothing changes.
    expect(await processDeadLetters(engine, letters(last))).toEqual({ batchItemFailures: [] });
    expect(await engine.store.get(taskId)).toMatchObject({ status: 'FAILED', error: DELIVERY_EXHAUSTED });
    expect(await failedCount(engine)).toBe(1);
  });

  it('send a RETRYING task back delayed by the rest of its backoff, its attempt log kept', async () => {
    const base = await createTestEngine(aws);
    const { engine, sqs } = siblingEngine(aws, base);
    const { taskId, letter } = await deadLetterOf(base, 'retrying', 'fail');
    await processBatch(base, letters(letter), lambdaContext());
    expect(await base.store.get(taskId)).toMatchObject({ status: 'RETRYING', attempts: 1 });

    expect(await processDeadLetters(engine, letters(letter))).toEqual({ batchItemFailures: [] });

    const sent = sqs.calls.find((c) => c.command === 'SendMessage')!.input;
    // The task's backoff is a minute at most, half a minute at least (equal jitter).
    expect(sent.DelaySeconds).toBeGreaterThanOrEqual(29);
    expect(sent.DelaySeconds).toBeLessThanOrEqual(60);
    expect(JSON.parse(String(sent.MessageBody))).toMatchObject({ taskId, run: 1, redrive: 1 });
    expect((await base.store.get(taskId))!.attemptLog).toHaveLength(1);
  });

  it('leave a finished task alone: SUCCEEDED keeps its result, CANCELLED stays cancelled', async () => {
    const engine = await createTestEngine(aws);
    const done = await deadLetterOf(engine, 'done');
    await processBatch(engine, letters(done.letter), lambdaContext());
    const cancelled = await deadLetterOf(engine, 'cancelled');
    await cancelTask(engine, cancelled.taskId);

    expect(await processDeadLetters(engine, letters(done.letter, cancelled.letter))).toEqual({ batchItemFailures: [] });

    expect(await engine.store.get(done.taskId)).toMatchObject({ status: 'SUCCEEDED', result: { key: 'done' } });
    expect((await engine.store.get(done.taskId))!.error).toBeUndefined();
    expect(await engine.store.get(cancelled.taskId)).toMatchObject({ status: 'CANCELLED' });
    expect(await failedCount(engine)).toBe(0);
  });

  it('drop the letter of a run that is over, sending nothing back: SUCCEEDED, FAILED, CANCELLED, or a run a manual retry superseded', async () => {
    const base = await createTestEngine(aws);
    const { engine, sqs } = siblingEngine(aws, base);
    const done = await deadLetterOf(base, 'over-done');
    await processBatch(base, letters(done.letter), lambdaContext());
    const failed = await deadLetterOf(base, 'over-failed');
    await markTaskFailed(base.store, (await base.store.getItems(failed.taskId)).task!, 1, DELIVERY_EXHAUSTED, new Date());
    const cancelled = await deadLetterOf(base, 'over-cancelled');
    await cancelTask(base, cancelled.taskId);
    const superseded = await deadLetterOf(base, 'over-superseded');
    await cancelTask(base, superseded.taskId);
    await retryTask(base, superseded.taskId);
    await claimById(base, superseded.taskId, new Date(), 60_000);

    expect(await processDeadLetters(engine, letters(done.letter, failed.letter, cancelled.letter, superseded.letter))).toEqual({ batchItemFailures: [] });

    expect(sqs.count('SendMessage')).toBe(0);
    expect((await Promise.all([done, failed, cancelled, superseded].map((t) => base.store.get(t.taskId)))).map((r) => [r!.status, r!.run])).toEqual([
      ['SUCCEEDED', 1],
      ['FAILED', 1],
      ['CANCELLED', 1],
      ['RUNNING', 2],
    ]);
  });

  it('send back a task whose lease ends at this very millisecond: the lease is over, and the run goes back to its queue', async () => {
    const engine = await createTestEngine(aws);
    const { taskId, letter } = await deadLetterOf(engine, 'lease-edge');
    const claimed = await claimById(engine, taskId, new Date(), 60_000);
    const atLeaseEnd: Engine = { ...engine, now: () => new Date(claimed.claimableAt!) };

    expect(await processDeadLetters(atLeaseEnd, letters(letter))).toEqual({ batchItemFailures: [] });
    expect(await sentBack(engine, taskId)).toMatchObject({ taskId, run: 1, redrive: 1 });
  });

  it('hand back a task running under a live lease; once the lease is over, send it back if it has attempts left, or end it FAILED', async () => {
    const engine = await createTestEngine(aws);
    const { taskId, letter } = await deadLetterOf(engine, 'running');
    await claimById(engine, taskId, new Date(), 60_000);

    expect(await processDeadLetters(engine, letters(letter))).toEqual({ batchItemFailures: [{ itemIdentifier: letter.messageId }] });
    expect(await engine.store.get(taskId)).toMatchObject({ status: 'RUNNING' });

    expect(await processDeadLetters(later(engine, 61_000), letters(letter))).toEqual({ batchItemFailures: [] });
    expect(await sentBack(engine, taskId)).toMatchObject({ taskId, run: 1, redrive: 1 });
    expect(await engine.store.get(taskId)).toMatchObject({ status: 'RUNNING', attempts: 1 });

    const last = await deadLetterOf(engine, 'running-last');
    for (let i = 0; i < 3; i++) await claimById(engine, last.taskId, new Date(Date.now() - 120_000 + i * 2_000), 1_000);
    expect(await processDeadLetters(engine, letters(last.letter))).toEqual({ batchItemFailures: [] });
    expect(await engine.store.get(last.taskId)).toMatchObject({ status: 'FAILED', attempts: 3, error: DELIVERY_EXHAUSTED });
  });

  it('drop a message that is not a task message, or names a task with no record, without inventing one', async () => {
    const engine = await createTestEngine(aws);
    const { letter } = await deadLetterOf(engine, 'real');
    const garbage = { ...letter, messageId: 'garbage', body: 'not json' };
    const orphanId = newTaskId();
    const orphan = { ...letter, messageId: 'orphan', body: letter.body.replace(/"taskId":"[^"]+"/, `"taskId":"${orphanId}"`) };
    expect(orphan.body).not.toBe(letter.body);

    expect(await processDeadLetters(engine, letters(garbage, orphan))).toEqual({ batchItemFailures: [] });

    expect(await engine.store.getItems(orphanId)).toEqual({});
    expect(await failedCount(engine)).toBe(0);
  });

  it('hand back a letter while DynamoDB cannot be read, however often, and send the run back once it can', async () => {
    const base = await createTestEngine(aws);
    const { engine, dynamo } = siblingEngine(aws, base);
    const { taskId, letter } = await deadLetterOf(base, 'ddb-down');
    dynamo.add({ command: 'BatchGetItem', effect: 'fail', error: internalServerError });
    dynamo.add({ command: 'GetItem', effect: 'fail', error: internalServerError });

    for (let i = 0; i < 3; i++) expect(await processDeadLetters(engine, letters(letter))).toEqual({ batchItemFailures: [{ itemIdentifier: letter.messageId }] });
    expect(await base.store.get(taskId)).toMatchObject({ status: 'PENDING' });

    dynamo.clear();
    expect(await processDeadLetters(engine, letters(letter))).toEqual({ batchItemFailures: [] });
    expect(await sentBack(base, taskId)).toMatchObject({ taskId, run: 1, redrive: 1 });
    expect(await base.store.get(taskId)).toMatchObject({ status: 'PENDING' });
  });

  it('hand back a last letter whose task was claimed between the read and the write', async () => {
    const base = await createTestEngine(aws);
    const { engine, dynamo } = siblingEngine(aws, base);
    const { taskId, letter } = await deadLetterOf(base, 'raced');
    // The consumer has read PENDING; before its write lands, a worker claims the task.
    const race = dynamo.add({ command: 'PutItem', effect: 'delay', times: 1, before: async () => void (await claimById(base, taskId, new Date(), 60_000)) });
    const last = redriven(letter, MAX_REDRIVES);

    expect(await processDeadLetters(engine, letters(last))).toEqual({ batchItemFailures: [{ itemIdentifier: last.messageId }] });
    expect(race.hits).toBe(1);
    expect(await base.store.get(taskId)).toMatchObject({ status: 'RUNNING', attempts: 1 });
  });
});

describe('markTaskFailed', () => {
  it('never overwrites SUCCEEDED or CANCELLED, nor a run that was retried', async () => {
    const engine = await createTestEngine(aws);
    const done = await deadLetterOf(engine, 'mark-done');
    await processBatch(engine, letters(done.letter), lambdaContext());
    const cancelled = await deadLetterOf(engine, 'mark-cancelled');
    await cancelTask(engine, cancelled.taskId);
    const error = { type: 'X', message: 'x' };

    for (const { taskId } of [done, cancelled]) {
      const { task, state } = await engine.store.getItems(taskId);
      expect(await markTaskFailed(engine.store, task!, state!.run, error, new Date())).toBeUndefined();
    }
    expect(await engine.store.get(done.taskId)).toMatchObject({ status: 'SUCCEEDED', result: { key: 'mark-done' } });
    expect(await engine.store.get(cancelled.taskId)).toMatchObject({ status: 'CANCELLED' });

    const pending = await deadLetterOf(engine, 'mark-other-run');
    const { task } = await engine.store.getItems(pending.taskId);
    await claimById(engine, pending.taskId, new Date(Date.now() - 120_000), 1_000);
    expect(await markTaskFailed(engine.store, task!, 2, error, new Date())).toBeUndefined();
    expect(await markTaskFailed(engine.store, task!, 1, error, new Date())).toMatchObject({ status: 'FAILED', error });
  });
});
