import type { SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { processDeadLetters } from '../../lib/deadLetters';
import type { Engine } from '../../lib/engine';
import { enqueue } from '../../lib/enqueue';
import { requeueUnfinishedTasks } from '../../lib/local/recovery';
import { defineTask } from '../../lib/task';
import { call, testApi } from '../support/api';
import { createTestEngine, siblingEngine, startLocalAws, type LocalAws } from '../support/aws';
import { claimById, recentlyCounted, runWorker } from '../support/drive';
import { lambdaContext, receiveTaskMessage } from '../support/events';
import { internalServerError, timeoutError, type FaultKit, type FaultRule } from '../support/faults';
import { expectErrorLogs } from '../support/logs';

// Its tasks fail and its calls fail on purpose.
expectErrorLogs(
  'Dead-lettered task',
  'Request failed',
  'Task failed',
  'Task message could not be processed; SQS will deliver it again',
);

/**
 * "A landed write is one's own": every conditional write whose first try
 * lands and whose answer is lost below the SDK's retries (a 500 or a socket
 * timeout on the way back), so that the SDK sends it again and that try's
 * condition fails on the first try's result. Each write must take that as its
 * own, never as "someone else won".
 */
let aws: LocalAws;
let base: Engine;
beforeAll(async () => {
  aws = await startLocalAws();
  base = await createTestEngine(aws, { leaseMarginMs: 2_000 });
});
afterAll(async () => aws.close());

const runs = new Map<string, number>();
const once = defineTask({
  name: 'lw_once',
  payload: z.object({ key: z.string(), fail: z.boolean().optional() }),
  maxAttempts: 1,
  run: ({ key, fail }) => {
    runs.set(key, (runs.get(key) ?? 0) + 1);
    if (fail) throw new Error(`${key} fails`);
    return { key };
  },
});
const retried = defineTask({
  name: 'lw_retried',
  payload: z.object({ key: z.string() }),
  maxAttempts: 3,
  backoff: { baseSeconds: 30, maxSeconds: 30 },
  run: ({ key }) => {
    runs.set(key, (runs.get(key) ?? 0) + 1);
    throw new Error(`${key} fails`);
  },
});

/** The first write matching `expression` lands, and its answer is lost below the SDK's retries, as a 500 or a timeout. */
function loseAnswerBelowRetries(kit: FaultKit, command: string, matches: (input: Record<string, unknown>) => boolean, error = internalServerError): ReturnType<FaultKit['add']> {
  const rule: FaultRule = { command, effect: 'lose-answer', step: 'deserialize', times: 1, error, when: matches };
  return kit.add(rule);
}
const updating = (part: string) => (input: Record<string, unknown>) => String(input.UpdateExpression ?? '').includes(part);
const putting = (status: string) => (input: Record<string, unknown>) => (input.Item as { status?: { S?: string } } | undefined)?.status?.S === status;

const messageOf = (taskId: string) => receiveTaskMessage(aws.sqs, base.config.queueUrls.default, taskId);

async function runOn(instance: ReturnType<typeof siblingEngine>, records: SQSRecord[]) {
  return runWorker(instance.engine, instance.sqs, records, lambdaContext());
}

describe('the worker', () => {
  it.each([
    ['a 500', internalServerError],
    ['a socket timeout', timeoutError],
  ])('runs a claimed attempt whose claim landed though its answer was lost (%s): a one-attempt task is not spent unrun', async (_label, error) => {
    const { taskId } = await enqueue(once, { key: `claim-${_label}` }, {}, base);
    const worker = siblingEngine(aws, base);
    const lost = loseAnswerBelowRetries(worker.dynamo, 'UpdateItem', updating('attemptStartedAt = :now'), error);

    const { failures } = await runOn(worker, [await messageOf(taskId)]);

    expect(lost.hits).toBe(1);
    expect(failures).toEqual([]);
    expect(runs.get(`claim-${_label}`)).toBe(1);
    expect(await base.store.get(taskId)).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  });

  it('gives the attempt back when the claim landed but no try of it answered (lost above the SDK’s retries): the next delivery runs the one-attempt task', async () => {
    const { taskId } = await enqueue(once, { key: 'claim-unanswered' }, {}, base);
    const message = await messageOf(taskId);
    const worker = siblingEngine(aws, base);
    worker.dynamo.add({ command: 'UpdateItem', effect: 'lose-answer', times: 1, error: internalServerError, when: updating('attemptStartedAt = :now') });

    const first = await runOn(worker, [message]);

    expect(first.failures).toEqual([message.messageId]);
    expect(await base.store.getState(taskId)).toMatchObject({ status: 'PENDING', attempts: 0 });
    const again = await runOn(siblingEngine(aws, base), [message]);
    expect(again.failures).toEqual([]);
    expect(runs.get('claim-unanswered')).toBe(1);
    expect(await base.store.get(taskId)).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  });

  it('hands a failed attempt’s message back for its backoff when the RETRYING outcome landed though its answer was lost', async () => {
    const { taskId } = await enqueue(retried, { key: 'retrying' }, {}, base);
    const worker = siblingEngine(aws, base);
    const message = await messageOf(taskId);
    const lost = loseAnswerBelowRetries(worker.dynamo, 'UpdateItem', updating('durationMs = :duration'));

    const { failures, visibility } = await runOn(worker, [message]);

    expect(lost.hits).toBe(1);
    // Acknowledged, the task would stay RETRYING for ever with no message to run it again.
    expect(failures).toEqual([message.messageId]);
    expect(visibility.get(message.messageId)).toBeGreaterThanOrEqual(15);
    expect(await base.store.getState(taskId)).toMatchObject({ status: 'RETRYING', attempts: 1 });
  });

  it('counts a SUCCEEDED outcome that landed though its answer was lost, and acknowledges its message', async () => {
    const { taskId } = await enqueue(once, { key: 'succeeded' }, {}, base);
    const worker = siblingEngine(aws, base);
    const before = await recentlyCounted(base, 'succeeded');
    loseAnswerBelowRetries(worker.dynamo, 'UpdateItem', updating('resultJson = :result'));

    const { failures } = await runOn(worker, [await messageOf(taskId)]);

    expect(failures).toEqual([]);
    expect(await base.store.getState(taskId)).toMatchObject({ status: 'SUCCEEDED' });
    expect(await recentlyCounted(base, 'succeeded')).toBe(before + 1);
  });

  it('ends a task whose last lease ran out FAILED once, acknowledged and counted, when that write’s answer was lost', async () => {
    const { taskId } = await enqueue(once, { key: 'exhausted' }, {}, base);
    const message = await messageOf(taskId);
    await claimById(base, taskId, new Date(Date.now() - 60_000), 1_000);
    const worker = siblingEngine(aws, base);
    const before = await recentlyCounted(base, 'failed');
    loseAnswerBelowRetries(worker.dynamo, 'UpdateItem', updating('#s = :failed'));

    const { failures } = await runOn(worker, [message]);

    expect(failures).toEqual([]);
    expect(await base.store.getState(taskId)).toMatchObject({ status: 'FAILED', error: { type: 'AttemptsExhausted' } });
    expect(await recentlyCounted(base, 'failed')).toBe(before + 1);
  });
});

describe('the DLQ consumer', () => {
  it('ends a dead-lettered run FAILED, counted, when the write’s answer was lost, instead of leaving the letter for later', async () => {
    const { taskId } = await enqueue(once, { key: 'dead' }, {}, base);
    const letter = await messageOf(taskId);
    await claimById(base, taskId, new Date(Date.now() - 60_000), 1_000);
    const dlq = siblingEngine(aws, base);
    loseAnswerBelowRetries(dlq.dynamo, 'UpdateItem', updating('#s = :failed'));

    const response = await processDeadLetters(dlq.engine, { Records: [letter] });

    expect(response.batchItemFailures).toEqual([]);
    expect(await base.store.getState(taskId)).toMatchObject({ status: 'FAILED' });
  });
});

describe('the api', () => {
  it('answers 200 CANCELLED to the cancel whose write landed though its answer was lost (not 409)', async () => {
    const { taskId } = await enqueue(once, { key: 'cancel' }, {}, base);
    await messageOf(taskId);
    const api = siblingEngine(aws, base);
    const lost = loseAnswerBelowRetries(api.dynamo, 'PutItem', putting('CANCELLED'));

    const res = await call(testApi(api.engine), 'DELETE', `/tasks/${taskId}`);

    expect(lost.hits).toBe(1);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ taskId, status: 'CANCELLED' });
  });

  it('answers 202 to the retry whose reset landed though its answer was lost, and sends the new run’s message', async () => {
    const { taskId } = await enqueue(once, { key: 'retry', fail: true }, {}, base);
    await runOn(siblingEngine(aws, base), [await messageOf(taskId)]);
    expect(await base.store.getState(taskId)).toMatchObject({ status: 'FAILED', run: 1 });
    const api = siblingEngine(aws, base);
    const lost = loseAnswerBelowRetries(api.dynamo, 'UpdateItem', updating('run = :next'));

    const res = await call(testApi(api.engine), 'POST', `/tasks/${taskId}/retry`);

    expect(lost.hits).toBe(1);
    expect(res.status).toBe(202);
    const message = await messageOf(taskId);
    expect(JSON.parse(message.body)).toMatchObject({ taskId, run: 2 });
  });

  it('answers 503 to a retry whose message was not sent and whose undo landed though its answer was lost (never 202 for a run that will not go)', async () => {
    const { taskId } = await enqueue(once, { key: 'undo', fail: true }, {}, base);
    await runOn(siblingEngine(aws, base), [await messageOf(taskId)]);
    const api = siblingEngine(aws, base);
    api.sqs.add({ command: 'SendMessage', effect: 'fail', times: 1 });
    const lost = loseAnswerBelowRetries(api.dynamo, 'UpdateItem', updating('#attempts = :attempts'));

    const res = await call(testApi(api.engine), 'POST', `/tasks/${taskId}/retry`);

    expect(lost.hits).toBe(1);
    expect(res.status).toBe(503);
    expect(await base.store.getState(taskId)).toMatchObject({ status: 'FAILED', run: 2 });
  });
});

describe('the local recovery sweep', () => {
  it('takes a RUNNING task whose lease outlasts SQS’s longest delay as its own to hand over at once, when ending the lease lost its answer', async () => {
    // A table of its own: the sweep re-queues every unfinished task it finds.
    const own = await createTestEngine(aws);
    const { taskId } = await enqueue(once, { key: 'lease' }, {}, own);
    await receiveTaskMessage(aws.sqs, own.config.queueUrls.default, taskId);
    await claimById(own, taskId, new Date(), 3_600_000);
    const sweep = siblingEngine(aws, own);
    loseAnswerBelowRetries(sweep.dynamo, 'UpdateItem', updating('SET claimableAt = :now'));

    await requeueUnfinishedTasks(sweep.engine);

    // The lease is over, and the message went out with no delay, to be taken over at once.
    const message = await receiveTaskMessage(aws.sqs, own.config.queueUrls.default, taskId);
    expect(JSON.parse(message.body)).toMatchObject({ taskId, run: 1 });
    expect(Number((await own.store.getState(taskId))!.claimableAt)).toBeLessThanOrEqual(Date.now());
  });
});
