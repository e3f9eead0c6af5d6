import type { SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Engine } from '../../lib/engine';
import { enqueue } from '../../lib/enqueue';
import { DependencyUnavailableError } from '../../lib/errors';
import { newTaskId } from '../../lib/keys';
import { claimTask } from '../../lib/store/claims';
import { isStateSk } from '../../lib/store/items';
import { defineTask } from '../../lib/task';
import { processBatch } from '../../lib/worker';
import { createTestEngine, siblingEngine, startLocalAws, type LocalAws } from '../support/aws';
import { claimById, recentlyCounted, runWorker } from '../support/drive';
import { lambdaContext, receiveTaskMessage } from '../support/events';
import type { FaultKit } from '../support/faults';
import { expectErrorLogs } from '../support/logs';

// Its tasks fail, its reads fail and its messages are poison, on purpose.
expectErrorLogs(
  'Batch could not be read; SQS will deliver it again',
  'Message is not a task message',
  'Task failed',
);

/**
 * What the worker decides for each message and records for each attempt,
 * read back from dynalite and from the visibility changes it asks of SQS:
 * lease length, timeouts, retries and their backoff, the final failure,
 * payloads that no longer fit, messages without a record, and a last attempt
 * that never reported.
 */
let aws: LocalAws;
let base: Engine;
let engine: Engine;
let sqs: FaultKit;

const LEASE_MARGIN_MS = 2_000;
beforeAll(async () => {
  aws = await startLocalAws();
  base = await createTestEngine(aws, { leaseMarginMs: LEASE_MARGIN_MS });
});
afterAll(async () => aws.close());

/** Runs `records` on a fresh sibling engine, and returns the response and the visibility it set per message. */
async function run(records: SQSRecord[]): Promise<{ failures: string[]; visibility: Map<string, number> }> {
  ({ engine, sqs } = siblingEngine(aws, base));
  return runWorker(engine, sqs, records, lambdaContext());
}

const messageOf = (taskId: string) => receiveTaskMessage(aws.sqs, base.config.queueUrls.default, taskId);
const failedCount = () => recentlyCounted(base, 'failed');

let release: () => void = () => undefined;
let seenSignal: AbortSignal | undefined;
let acceptPayload = true;
const controlled = defineTask({
  name: 'wo_controlled',
  payload: z.object({ mode: z.enum(['ok', 'fail', 'hold', 'hang']) }).refine(() => acceptPayload),
  maxAttempts: 3,
  timeoutSeconds: 1,
  backoff: { baseSeconds: 40, maxSeconds: 40 },
  run: async ({ mode }, ctx) => {
    seenSignal = ctx.signal;
    if (mode === 'fail') throw new Error('fails on purpose');
    if (mode === 'hold') await new Promise<void>((r) => (release = r));
    if (mode === 'hang') await new Promise(() => undefined);
    return { mode };
  },
});
const once = defineTask({ name: 'wo_once', payload: z.object({}), maxAttempts: 1, timeoutSeconds: 5, run: () => ({}) });

describe('worker outcomes', () => {
  it('leases an attempt for its timeout plus the margin, and a claim takes it over exactly when the lease ends', async () => {
    const { taskId } = await enqueue(controlled, { mode: 'hold' }, {}, base);
    const message = await messageOf(taskId);
    const before = Date.now();
    const running = run([message]);
    let lease: number | undefined;
    while (lease === undefined) lease = (await base.store.get(taskId))?.leaseExpiresAt;
    expect(lease - before).toBeGreaterThanOrEqual(1_000 + LEASE_MARGIN_MS);
    expect(lease - Date.now()).toBeLessThanOrEqual(1_000 + LEASE_MARGIN_MS);
    release();
    await running;

    const other = await enqueue(controlled, { mode: 'ok' }, {}, base);
    await messageOf(other.taskId);
    const { task } = await base.store.getItems(other.taskId);
    const t0 = new Date(Date.now() - 60_000);
    await claimTask(base.store, task!, 1, t0, 5_000);
    expect((await claimTask(base.store, task!, 1, new Date(t0.getTime() + 4_999), 5_000)).claimed).toBeUndefined();
    expect((await claimTask(base.store, task!, 1, new Date(t0.getTime() + 5_000), 5_000)).claimed).toMatchObject({ status: 'RUNNING', attempts: 2 });
  });

  it('aborts a handler past its timeout and records the attempt as timed_out, within the time it took', async () => {
    const { taskId } = await enqueue(controlled, { mode: 'hang' }, {}, base);
    const message = await messageOf(taskId);
    const started = Date.now();

    const { failures, visibility } = await run([message]);

    const elapsed = Date.now() - started;
    expect(seenSignal?.aborted).toBe(true);
    const record = await base.store.get(taskId);
    expect(record).toMatchObject({ status: 'RETRYING', attempts: 1, error: { type: 'TaskTimeoutError' } });
    expect(record!.attemptLog[0]).toMatchObject({ attempt: 1, outcome: 'timed_out' });
    expect(record!.durationMs).toBeGreaterThanOrEqual(1_000);
    expect(record!.durationMs).toBeLessThanOrEqual(elapsed);
    expect(failures).toEqual([message.messageId]);
    expect(visibility.get(message.messageId)).toBeGreaterThanOrEqual(20);
  });

  it('hands a failed attempt back for its backoff, leaving RETRYING with no lease and no finish time', async () => {
    const { taskId } = await enqueue(controlled, { mode: 'fail' }, {}, base);
    const message = await messageOf(taskId);

    const { failures, visibility } = await run([message]);

    const record = await base.store.get(taskId);
    expect(record).toMatchObject({ status: 'RETRYING', attempts: 1, error: { type: 'Error', message: 'fails on purpose' } });
    expect(record!.finishedAt).toBeUndefined();
    expect(record!.leaseExpiresAt).toBeUndefined();
    const lastAttemptEnd = Date.parse(record!.attemptLog[0]!.startedAt) + record!.attemptLog[0]!.durationMs;
    // Equal jitter on a 40 s step: between 20 and 40 s, kept in the record and given to SQS alike.
    expect(record!.nextAttemptAt! - lastAttemptEnd).toBeGreaterThanOrEqual(20_000);
    expect(record!.nextAttemptAt! - lastAttemptEnd).toBeLessThanOrEqual(40_001);
    expect(failures).toEqual([message.messageId]);
    expect(visibility.get(message.messageId)).toBeGreaterThanOrEqual(20);
    expect(visibility.get(message.messageId)).toBeLessThanOrEqual(40);
  });

  it('acknowledges the last failed attempt: FAILED, counted, not handed back', async () => {
    const { taskId } = await enqueue(once, {}, {}, base);
    const message = await messageOf(taskId);
    const { task } = await base.store.getItems(taskId);
    // The only attempt is claimed and never reports; once its lease is over, the message comes again.
    await claimTask(base.store, task!, 1, new Date(Date.now() - 60_000), 1_000);
    const failedBefore = await failedCount();

    const { failures, visibility } = await run([message]);

    expect(failures).toEqual([]);
    expect(visibility.size).toBe(0);
    expect(await base.store.get(taskId)).toMatchObject({ status: 'FAILED', attempts: 1, error: { type: 'AttemptsExhausted' } });
    expect(await failedCount()).toBe(failedBefore + 1);
  });

  it('takes over an attempt that never reported when attempts remain, instead of failing the task', async () => {
    const { taskId } = await enqueue(controlled, { mode: 'ok' }, {}, base);
    const message = await messageOf(taskId);
    await claimById(base, taskId, new Date(Date.now() - 60_000), 1_000);

    const { failures } = await run([message]);

    expect(failures).toEqual([]);
    expect(await base.store.get(taskId)).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
  });

  it('fails a task whose stored payload no longer fits its schema at once, without retrying', async () => {
    const { taskId } = await enqueue(controlled, { mode: 'ok' }, {}, base);
    const message = await messageOf(taskId);
    acceptPayload = false;
    try {
      const { failures, visibility } = await run([message]);
      expect(failures).toEqual([]);
      expect(visibility.size).toBe(0);
    } finally {
      acceptPayload = true;
    }
    const record = await base.store.get(taskId);
    expect(record).toMatchObject({ status: 'FAILED', attempts: 1, error: { type: 'InvalidPayload', message: 'The stored payload no longer matches the task schema' } });
    // A refused payload is a failed attempt, not a timed-out one.
    expect(record!.attemptLog.map((a) => a.outcome)).toEqual(['failed']);
  });

  it('hands back a message that names no record, or is not a task message, later with each receive, up to a minute', async () => {
    const { taskId } = await enqueue(once, {}, {}, base);
    const message = await messageOf(taskId);
    const orphanId = newTaskId();
    const orphan = (id: string, receives: number): SQSRecord => ({
      ...message,
      messageId: id,
      receiptHandle: `${message.receiptHandle}`,
      body: message.body.replace(taskId, orphanId),
      attributes: { ...message.attributes, ApproximateReceiveCount: String(receives) },
    });
    for (const [receives, seconds] of [[1, 2], [3, 8], [10, 60]] as const) {
      const record = orphan(`orphan-${receives}`, receives);
      const { failures, visibility } = await run([record]);
      expect(failures).toEqual([record.messageId]);
      expect(visibility.get(record.messageId)).toBe(seconds);
    }
    expect(await base.store.getItems(orphanId)).toEqual({});
    const garbage = { ...orphan('garbage', 4), body: '{"hello":1}' };
    const { failures, visibility } = await run([garbage]);
    expect(failures).toEqual(['garbage']);
    expect(visibility.get('garbage')).toBe(16);
  });

  it('acknowledges the message of a task whose enqueue failed and was stopped: nothing to run, nothing to wait for', async () => {
    const { engine: failing, dynamo } = siblingEngine(aws, base);
    // The task's own item is refused; the message goes out, and the stop is written.
    dynamo.add({ command: 'PutItem', effect: 'fail', when: (input) => !isStateSk(String(input.Item.sk)) });
    const error = await enqueue(once, {}, {}, failing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    const taskId = dynamo.calls.find((c) => c.command === 'PutItem')!.input.Item.taskId as string;
    expect((await base.store.getState(taskId))?.stopped).toBe('enqueue_failed');

    const { failures, visibility } = await run([await messageOf(taskId)]);

    expect(failures).toEqual([]);
    expect(visibility.size).toBe(0);
  });

  it('hands back a whole batch it cannot read, each message after its receive count’s backoff', async () => {
    const first = await enqueue(controlled, { mode: 'ok' }, {}, base);
    const message = await messageOf(first.taskId);
    const again = { ...message, messageId: 'again', attributes: { ...message.attributes, ApproximateReceiveCount: '11' } };
    const reader = siblingEngine(aws, base);
    reader.dynamo.add({ command: 'BatchGetItem', effect: 'fail' });

    const response = await processBatch(reader.engine, { Records: [message, again] }, lambdaContext());

    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([message.messageId, 'again']);
    expect(reader.sqs.calls.filter((c) => c.command === 'ChangeMessageVisibility').map((c) => c.input.VisibilityTimeout)).toEqual([2, 1200]);
    expect(await base.store.get(first.taskId)).toMatchObject({ status: 'PENDING', attempts: 0 });
  });

  it('hands back a copy that comes before the task’s delay is over, for the rest of the delay', async () => {
    const { taskId } = await enqueue(controlled, { mode: 'ok' }, { delaySeconds: 30 }, base);
    // The message itself waits in SQS for 30 s; a copy (a redrive, the recovery sweep) can come at once.
    const copy = await messageOf((await enqueue(controlled, { mode: 'ok' }, {}, base)).taskId);
    const early = { ...copy, messageId: 'early', body: copy.body.replace(JSON.parse(copy.body).taskId, taskId) };

    const { failures, visibility } = await run([early]);

    expect(failures).toEqual(['early']);
    expect(visibility.get('early')).toBeGreaterThanOrEqual(28);
    expect(visibility.get('early')).toBeLessThanOrEqual(30);
    expect(await base.store.get(taskId)).toMatchObject({ status: 'SCHEDULED', attempts: 0 });
  });

  it('sets no visibility for a message it acknowledges', async () => {
    const { taskId } = await enqueue(controlled, { mode: 'ok' }, {}, base);
    const message = await messageOf(taskId);

    const { failures, visibility } = await run([message]);

    expect(failures).toEqual([]);
    expect(visibility.size).toBe(0);
    expect(sqs.calls.map((c) => c.command)).not.toContain('ChangeMessageVisibility');
  });
});
