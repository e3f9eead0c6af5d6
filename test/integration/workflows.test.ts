import { DeleteMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Engine } from '../../lib/engine';
import { enqueue } from '../../lib/enqueue';
import { cancelTask } from '../../lib/cancel';
import { withBackgroundTasks } from '../../lib/background';
import { retryTask } from '../../lib/retry';
import { MAX_REDRIVES, processDeadLetters } from '../../lib/deadLetters';
import { defineTask } from '../../lib/task';
import { double, sum, writeLog } from '../../lib/tasks/examples';
import { TERMINAL_STATUSES, type TaskRecord } from '../../lib/types';
import { processBatch } from '../../lib/worker';
import { toMessage } from '../../lib/message';
import { drainQueue } from '../support/drive';
import { chain, group, waitFor } from '../../lib/workflows';
import { signalWorkflow } from '../../lib/workflows/signal';
import { stepId } from '../../lib/workflows/stepIds';
import { withSteps } from '../../lib/workflows/stepsView';
import { advanceWorkflow } from '../../lib/workflows/advance';
import { finishAttempt } from '../../lib/store/claims';
import { stateKey } from '../../lib/store/items';
import { claimById } from '../support/drive';
import { createTestEngine, siblingEngine, startLocalAws, testBucket, type LocalAws } from '../support/aws';
import { lambdaContext, receiveEvent, receiveTaskMessage } from '../support/events';
import { serviceUnavailable } from '../support/faults';
import { expectErrorLogs } from '../support/logs';

/**
 * Workflows (lib/workflows) against real dynalite and local-aws-sqs: chains
 * pass results along, groups fan in once in member order, waits end on a
 * signal or a timeout, and each step runs once whatever the deliveries: twice
 * each, to two workers at once, or with the workflow's write answered lost.
 */
// A step that fails its retries, and a workflow that ends FAILED: the worker logs both as errors.
expectErrorLogs(/Task failed/, 'Dead-lettered task');

let aws: LocalAws;
let engine: Engine;

beforeAll(async () => {
  aws = await startLocalAws();
  engine = await createTestEngine(aws);
});
afterAll(async () => aws.close());

/** How many times each task's handler ran, by task id, and in all. */
const runs = new Map<string, number>();
let allRuns = 0;
const counted = (taskId: string) => {
  allRuns++;
  runs.set(taskId, (runs.get(taskId) ?? 0) + 1);
};

const add = defineTask({
  name: 'wf_add',
  payload: z.object({ n: z.number() }),
  run: ({ n }, ctx) => {
    counted(ctx.taskId);
    return { n: n + 1 };
  },
});

const failing = defineTask({
  name: 'wf_fail',
  payload: z.unknown(),
  maxAttempts: 1,
  run: (_payload, ctx) => {
    counted(ctx.taskId);
    throw new Error('refused on purpose');
  },
});

const collect = defineTask({
  name: 'wf_collect',
  payload: z.object({ results: z.array(z.unknown()), failed: z.optional(z.array(z.object({ index: z.int(), taskId: z.string(), error: z.object({ type: z.string(), message: z.string() }) }))) }),
  run: (payload, ctx) => {
    counted(ctx.taskId);
    return payload;
  },
});

/**
 * Plays the event source for `engines` side by side until the workflow is
 * terminal; with `duplicates`, every message is delivered twice (a copy is
 * sent back before the batch runs), as SQS may.
 */
async function runWorkflow(engines: Engine[], workflowId: string, { duplicates = false, timeoutMs = 60_000 } = {}): Promise<TaskRecord> {
  const until = Date.now() + timeoutMs;
  let done = false;
  const copied = new Set<string>();
  const lanes = engines.flatMap((e) =>
    Object.values(e.config.queueUrls).map(async (url) => {
      while (!done && Date.now() < until) {
        const event = await receiveEvent(aws.sqs, url, 10, 0);
        if (event.Records.length === 0) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        if (duplicates) {
          for (const r of event.Records) {
            if (copied.has(r.body)) continue;
            copied.add(r.body);
            await aws.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: r.body }));
          }
        }
        const response = await processBatch(e, event, lambdaContext());
        const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
        const acked = event.Records.filter((r) => !failed.has(r.messageId));
        if (acked.length > 0) await aws.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: acked.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })) }));
      }
    }),
  );
  try {
    for (;;) {
      const record = await engines[0]!.store.get(workflowId);
      if (record && TERMINAL_STATUSES.includes(record.status)) return await withSteps(engines[0]!, record);
      if (Date.now() > until) throw new Error(`workflow not terminal in time: ${record?.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    done = true;
    await Promise.all(lanes);
  }
}

const runsOf = (workflowId: string, count: number) => Array.from({ length: count }, (_, i) => runs.get(stepId(workflowId, i)) ?? 0);

describe('a chain', () => {
  it('runs its steps one after another, each with the result before it, and ends with the last result', { timeout: 30_000 }, async () => {
    const { taskId } = await enqueue(chain(double.with({ n: 1 }), double, add), {}, engine);
    expect((await engine.store.get(taskId))?.status).toBe('RUNNING');

    const record = await runWorkflow([engine], taskId);

    expect(record).toMatchObject({ name: 'workflow', status: 'SUCCEEDED', result: { n: 5 } });
    expect(record.steps).toEqual([
      { index: 0, taskId: stepId(taskId, 0), name: 'double', status: 'SUCCEEDED' },
      { index: 1, taskId: stepId(taskId, 1), name: 'double', status: 'SUCCEEDED' },
      { index: 2, taskId: stepId(taskId, 2), name: 'wf_add', status: 'SUCCEEDED' },
    ]);
    expect((await engine.store.get(stepId(taskId, 1)))?.payload).toEqual({ n: 2 });
    expect((await engine.store.get(stepId(taskId, 2)))?.payload).toEqual({ n: 4 });
    expect(runsOf(taskId, 3)[2]).toBe(1);
  });

  it('stops at a step that fails its retries: the workflow FAILED with the cause, the steps after it CANCELLED', { timeout: 30_000 }, async () => {
    const { taskId } = await enqueue(chain(add.with({ n: 1 }), failing, add), {}, engine);

    const record = await runWorkflow([engine], taskId);

    expect(record.status).toBe('FAILED');
    expect(record.error).toEqual({ type: 'Error', message: 'Step 1 (wf_fail) failed: refused on purpose' });
    expect(record.steps!.map((s) => s.status)).toEqual(['SUCCEEDED', 'FAILED', 'CANCELLED']);
    expect(await engine.store.get(stepId(taskId, 2))).toBeUndefined();
  });

  it('fails with a clear error when a result does not fit the next step\'s schema', { timeout: 30_000 }, async () => {
    const { taskId } = await enqueue(chain(double.with({ n: 1 }), writeLog), {}, engine);

    const record = await runWorkflow([engine], taskId);

    expect(record.status).toBe('FAILED');
    expect(record.error?.type).toBe('StepPayloadInvalid');
    expect(record.error?.message).toMatch(/^Step 1 \(write_log\) cannot take the payload it was given: Payload does not match the schema of task "write_log" \(message: /);
    expect(record.steps!.map((s) => s.status)).toEqual(['SUCCEEDED', 'CANCELLED']);
  });

  it('refuses, before anything runs, an unknown task or a payload its schema refuses', async () => {
    await expect(enqueue(chain(double.with({ n: 'one' } as never), double), {}, engine)).rejects.toMatchObject({ code: 'validation_error', message: expect.stringMatching(/^Step 0 \(double\)/) });
    await expect(enqueue({ '~workflow': { kind: 'chain', steps: [{ name: 'nope' }] } }, {}, engine)).rejects.toMatchObject({ code: 'unknown_task' });
    await expect(enqueue({ '~workflow': { kind: 'chain', steps: [{ name: 'workflow' }] } }, {}, engine)).rejects.toMatchObject({ code: 'unknown_task' });
  });
});

describe('a group whose results are too large to fan in', () => {
  it('ends FAILED from the sizes its members recorded, reading none of their results', { timeout: 60_000 }, async () => {
    const big = defineTask({ name: 'wf_big_result', payload: z.object({ mb: z.number() }), run: ({ mb }) => ({ text: 'r'.repeat(mb * 1024 * 1024) }) });
    const withBucket = await createTestEngine(aws, { payloadBucket: testBucket() });
    const worker = siblingEngine(aws, withBucket);
    const { taskId } = await enqueue(group([big.with({ mb: 3 }), big.with({ mb: 3 })], { then: collect }), {}, withBucket);

    const record = await runWorkflow([worker.engine], taskId);

    expect(record).toMatchObject({ status: 'FAILED', error: { type: 'StepPayloadInvalid' } });
    expect(record.error!.message).toMatch(/^Step 2 \(wf_collect\) cannot take the payload it was given: the members' results are \d+ bytes in all; the limit is 5242880$/);
    expect(worker.s3.count('PutObject')).toBe(2);
    expect(worker.s3.count('GetObject')).toBe(0);
  });
});

describe('the dead-letter queue', () => {
  it('moves a chain on when its step ends there: the step FAILED (DeliveryExhausted), the workflow FAILED with it, the steps after CANCELLED', { timeout: 30_000 }, async () => {
    const { taskId } = await enqueue(chain(double.with({ n: 1 }), double), {}, engine);
    const message = await receiveTaskMessage(aws.sqs, engine.config.queueUrls.default, stepId(taskId, 0));
    const letter = { ...message, body: JSON.stringify({ ...JSON.parse(message.body), redrive: MAX_REDRIVES }) };

    expect(await processDeadLetters(engine, { Records: [letter] })).toEqual({ batchItemFailures: [] });

    const record = await withSteps(engine, (await engine.store.get(taskId))!);
    expect(record).toMatchObject({ status: 'FAILED', error: { type: 'DeliveryExhausted' } });
    expect(record.steps!.map((s) => s.status)).toEqual(['FAILED', 'CANCELLED']);
  });

  it('hands a letter back when its workflow cannot move on now, and moves it on when the letter comes again', { timeout: 30_000 }, async () => {
    const { taskId } = await enqueue(chain(double.with({ n: 1 }), double), {}, engine);
    const message = await receiveTaskMessage(aws.sqs, engine.config.queueUrls.default, stepId(taskId, 0));
    const letter = { ...message, body: JSON.stringify({ ...JSON.parse(message.body), redrive: MAX_REDRIVES }) };
    const { engine: down, dynamo } = siblingEngine(aws, engine);
    // The step's FAILED lands; the reads that would move its workflow on fail.
    dynamo.add({ command: 'GetItem', effect: 'fail', error: serviceUnavailable });

    expect(await processDeadLetters(down, { Records: [letter] })).toEqual({ batchItemFailures: [{ itemIdentifier: letter.messageId }] });
    expect(await engine.store.get(taskId)).toMatchObject({ status: 'RUNNING' });
    expect(await engine.store.get(stepId(taskId, 0))).toMatchObject({ status: 'FAILED' });

    expect(await processDeadLetters(engine, { Records: [letter] })).toEqual({ batchItemFailures: [] });
    expect(await engine.store.get(taskId)).toMatchObject({ status: 'FAILED', error: { type: 'DeliveryExhausted' } });
  });
});

describe('a group', () => {
  it('runs 200 members and fans in once, with their 200 results in member order', { timeout: 90_000 }, async () => {
    const members = Array.from({ length: 200 }, (_, i) => double.with({ n: i }));
    const { taskId } = await enqueue(group(members, { then: sum }), {}, engine);

    const record = await runWorkflow([engine, siblingEngine(aws, engine).engine], taskId, { timeoutMs: 80_000 });

    expect(record).toMatchObject({ status: 'SUCCEEDED', result: { n: 2 * ((199 * 200) / 2), of: 200 } });
    const fanIn = await engine.store.get(stepId(taskId, 200));
    expect(fanIn?.payload).toEqual({ results: Array.from({ length: 200 }, (_, i) => ({ n: 2 * i })) });
    expect(record.steps).toHaveLength(201);
    expect(record.steps!.every((s) => s.status === 'SUCCEEDED')).toBe(true);
  });

  it('fails when a member fails its retries, and runs no fan-in', { timeout: 30_000 }, async () => {
    const { taskId } = await enqueue(group([add.with({ n: 1 }), failing.with({}), add.with({ n: 3 })], { then: collect }), {}, engine);

    const record = await runWorkflow([engine], taskId);

    expect(record.status).toBe('FAILED');
    expect(record.error).toEqual({ type: 'Error', message: 'Member 1 (wf_fail) failed: refused on purpose' });
    expect(await engine.store.get(stepId(taskId, 3))).toBeUndefined();
  });

  it('with allowFailures, fans in anyway: the failed member\'s result is null, and failed names it', { timeout: 30_000 }, async () => {
    const { taskId } = await enqueue(group([add.with({ n: 1 }), failing.with({}), add.with({ n: 3 })], { then: collect, allowFailures: true }), {}, engine);

    const record = await runWorkflow([engine], taskId);

    expect(record.status).toBe('SUCCEEDED');
    expect(record.result).toEqual({
      results: [{ n: 2 }, null, { n: 4 }],
      failed: [{ index: 1, taskId: stepId(taskId, 1), error: { type: 'Error', message: 'refused on purpose' } }],
    });
  });

  it('without a fan-in, ends with the results', { timeout: 30_000 }, async () => {
    const { taskId } = await enqueue(group([double.with({ n: 5 }), double.with({ n: 6 })]), {}, engine);

    const record = await runWorkflow([engine], taskId);

    expect(record).toMatchObject({ status: 'SUCCEEDED', result: { results: [{ n: 10 }, { n: 12 }] } });
  });
});

describe('exactly one continuation', () => {
  it('runs each step of a chain once when every message is delivered twice, to two workers at once', { timeout: 60_000 }, async () => {
    const before = allRuns;
    const { taskId } = await enqueue(chain(add.with({ n: 0 }), add, add, add, add), {}, engine);

    const record = await runWorkflow([engine, siblingEngine(aws, engine).engine], taskId, { duplicates: true });

    expect(record).toMatchObject({ status: 'SUCCEEDED', result: { n: 5 } });
    expect(allRuns - before).toBe(5);
    expect(runsOf(taskId, 5)).toEqual([1, 1, 1, 1, 1]);
  });

  it('changes nothing when a step\'s message comes again after the chain has ended', { timeout: 60_000 }, async () => {
    const { taskId } = await enqueue(chain(add.with({ n: 0 }), add, add), {}, engine);
    const ended = await runWorkflow([engine], taskId);
    const before = allRuns;

    // A late copy of the first step's message (SQS delivers at least once), to another worker.
    await engine.queue.send(toMessage((await engine.store.getItems(stepId(taskId, 0))).task!, 1));
    await runWorkflow([siblingEngine(aws, engine).engine], taskId, { timeoutMs: 3_000 });
    await drainQueue(engine, aws, engine.config.queueUrls.default);

    expect(await withSteps(engine, (await engine.store.get(taskId))!)).toMatchObject({ status: 'SUCCEEDED', result: { n: 3 }, updatedAt: ended.updatedAt });
    expect(allRuns).toBe(before);
  });

  it('is not moved back by a delivery that read it before another moved it on (the chain\'s write is conditional)', { timeout: 60_000 }, async () => {
    const slow = siblingEngine(aws, engine);
    const { taskId } = await enqueue(chain(add.with({ n: 0 }), add), {}, engine);
    const url = engine.config.queueUrls.default;
    const event = await receiveEvent(aws.sqs, url, 1, 1);
    // SQS delivers step 0 twice: the slow worker reads the workflow, then its write waits while the other delivery ends the whole chain.
    await aws.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: event.Records[0]!.body }));
    slow.dynamo.add({
      command: 'UpdateItem',
      effect: 'delay',
      delayMs: 0,
      times: 1,
      when: (input) => String(input.UpdateExpression).includes('stepAt = :next'),
      before: async () => {
        await runWorkflow([engine], taskId);
      },
    });

    await processBatch(slow.engine, event, lambdaContext());

    expect(await engine.store.get(taskId)).toMatchObject({ status: 'SUCCEEDED', result: { n: 2 } });
    expect(runsOf(taskId, 2)).toEqual([1, 1]);
  });

  it('fans a group in once when every member\'s message is delivered twice, to two workers at once', { timeout: 60_000 }, async () => {
    const before = allRuns;
    const members = Array.from({ length: 30 }, (_, i) => add.with({ n: i }));
    const { taskId } = await enqueue(group(members, { then: collect }), {}, engine);

    const record = await runWorkflow([engine, siblingEngine(aws, engine).engine], taskId, { duplicates: true });

    expect(record.status).toBe('SUCCEEDED');
    expect(allRuns - before).toBe(31);
    expect(runsOf(taskId, 31)).toEqual(Array.from({ length: 31 }, () => 1));
    expect((record.result as { results: unknown[] }).results).toEqual(Array.from({ length: 30 }, (_, i) => ({ n: i + 1 })));
  });

  it('enqueues the next step when the worker lost it after moving the chain on (the step\'s message comes back and repairs it)', { timeout: 60_000 }, async () => {
    const worker = siblingEngine(aws, engine);
    // The chain's move lands, and its answer is lost above the SDK's retries: the worker never enqueues the next step, as if it crashed then.
    const lost = worker.dynamo.add({ command: 'UpdateItem', effect: 'lose-answer', error: serviceUnavailable, times: 2, when: (input) => String(input.UpdateExpression).includes('stepAt = :next') });
    const { taskId } = await enqueue(chain(add.with({ n: 0 }), add, add), {}, engine);

    const record = await runWorkflow([worker.engine], taskId);

    expect(lost.hits).toBe(2);
    expect(record).toMatchObject({ status: 'SUCCEEDED', result: { n: 3 } });
    expect(runsOf(taskId, 3)).toEqual([1, 1, 1]);
  });

  it('fans in when the worker lost the last member\'s join after it landed', { timeout: 60_000 }, async () => {
    const worker = siblingEngine(aws, engine);
    const lost = worker.dynamo.add({ command: 'UpdateItem', effect: 'lose-answer', error: serviceUnavailable, when: (input) => String(input.UpdateExpression).includes('ADD joined') });
    const { taskId } = await enqueue(group([add.with({ n: 1 })], { then: collect }), {}, engine);

    const record = await runWorkflow([worker.engine], taskId);

    expect(lost.hits).toBeGreaterThanOrEqual(1);
    expect(record).toMatchObject({ status: 'SUCCEEDED', result: { results: [{ n: 2 }] } });
    expect(runsOf(taskId, 2)).toEqual([1, 1]);
  });
});

describe('waiting for a signal', () => {
  it('waits (WAITING, nothing running) until the signal comes; its data is the next step\'s payload; a repeated signal is harmless', { timeout: 30_000 }, async () => {
    const { taskId } = await enqueue(chain(add.with({ n: 1 }), waitFor('approval', { timeoutSeconds: 600 }), add), {}, engine);
    const worker = runWorkflow([engine], taskId);
    for (let i = 0; i < 100 && (await engine.store.get(taskId))?.status !== 'WAITING'; i++) await new Promise((r) => setTimeout(r, 100));
    const waiting = await withSteps(engine, (await engine.store.get(taskId))!);
    expect(waiting.status).toBe('WAITING');
    expect(waiting.steps!.map((s) => s.status)).toEqual(['SUCCEEDED', 'WAITING', 'PENDING']);
    expect(waiting.steps![1]).toMatchObject({ name: 'workflow.wait', waitFor: 'approval' });
    // The workflow and its waiting step outlast the wait by the retention (30 days).
    const wait = (await engine.store.get(stepId(taskId, 1)))!;
    expect(waiting.expiresAt - Date.parse(waiting.createdAt) / 1000).toBeCloseTo(30 * 86_400 + 600, -1);
    expect(wait.expiresAt - Date.parse(wait.createdAt) / 1000).toBeCloseTo(30 * 86_400 + 600, -1);

    await expect(signalWorkflow(engine, taskId, 'other', {})).rejects.toMatchObject({ code: 'invalid_state' });
    // Data the next step's schema refuses is the client's mistake: 400, and the workflow keeps waiting for a good one.
    await expect(signalWorkflow(engine, taskId, 'approval', { n: 'ten' })).rejects.toMatchObject({ code: 'validation_error' });
    expect(await engine.store.get(taskId)).toMatchObject({ status: 'WAITING' });
    const signalled = await signalWorkflow(engine, taskId, 'approval', { n: 10 });
    expect(signalled).toMatchObject({ repeated: false, record: { status: 'RUNNING' } });
    expect((await signalWorkflow(engine, taskId, 'approval', { n: 99 })).repeated).toBe(true);

    const record = await worker;
    expect(record).toMatchObject({ status: 'SUCCEEDED', result: { n: 11 } });
    expect(runsOf(taskId, 3)).toEqual([1, 0, 1]);
    await expect(signalWorkflow(engine, taskId, 'approval', {})).resolves.toMatchObject({ repeated: true });
  });

  it('takes a signal sent again after a 503 whose write had landed: the repeat moves the workflow on, once', { timeout: 30_000 }, async () => {
    const { taskId } = await enqueue(chain(waitFor('approval', { timeoutSeconds: 600 }), add), {}, engine);
    const api = siblingEngine(aws, engine);
    // The signal lands; the workflow's move lands too, and its answer is lost: the client gets a 503.
    api.dynamo.add({ command: 'UpdateItem', effect: 'lose-answer', error: serviceUnavailable, times: 1, when: (input) => String(input.UpdateExpression).includes('stepAt = :next') });
    await expect(signalWorkflow(api.engine, taskId, 'approval', { n: 7 })).rejects.toMatchObject({ code: 'service_unavailable' });

    const again = await signalWorkflow(engine, taskId, 'approval', { n: 0 });
    const record = await runWorkflow([engine], taskId);

    expect(again.repeated).toBe(true);
    expect(record).toMatchObject({ status: 'SUCCEEDED', result: { n: 8 } });
    expect(runsOf(taskId, 2)).toEqual([0, 1]);
  });

  it('ends FAILED when no signal comes in time', { timeout: 30_000 }, async () => {
    const { taskId } = await enqueue(chain(waitFor('approval', { timeoutSeconds: 2 }), add), {}, engine);
    expect((await engine.store.get(taskId))?.status).toBe('WAITING');

    const record = await runWorkflow([engine], taskId);

    expect(record.status).toBe('FAILED');
    expect(record.error).toEqual({ type: 'SignalTimeout', message: 'Step 0 (workflow.wait) failed: No "approval" signal came within 2 s' });
    await expect(signalWorkflow(engine, taskId, 'approval', {})).rejects.toMatchObject({ code: 'invalid_state' });

    // Retried, it waits again (WAITING), and a signal now resumes it.
    expect(await retryTask(engine, taskId)).toMatchObject({ status: 'WAITING', run: 2 });
    expect(await signalWorkflow(engine, taskId, 'approval', { n: 1 })).toMatchObject({ repeated: false, record: { status: 'RUNNING' } });
    expect(await runWorkflow([engine], taskId)).toMatchObject({ status: 'SUCCEEDED', result: { n: 2 } });
  });

  it('runs its onTimeout step when no signal comes in time, and goes on with its result', { timeout: 30_000 }, async () => {
    const { taskId } = await enqueue(chain(add.with({ n: 1 }), waitFor('approval', { timeoutSeconds: 2, onTimeout: add.with({ n: 100 }) }), add), {}, engine);

    const record = await runWorkflow([engine], taskId);

    expect(record).toMatchObject({ status: 'SUCCEEDED', result: { n: 102 } });
    expect(record.steps![1]).toEqual({ index: 1, taskId: stepId(taskId, 10_001), name: 'wf_add', status: 'SUCCEEDED', waitFor: 'approval' });
    expect(runs.get(stepId(taskId, 10_001))).toBe(1);
    await expect(signalWorkflow(engine, taskId, 'approval', {})).rejects.toMatchObject({ code: 'invalid_state' });
  });

  it('refuses a signal for a task that is no workflow (409) and for no task (404)', async () => {
    const { taskId } = await enqueue(add, { n: 1 }, {}, engine);
    await expect(signalWorkflow(engine, taskId, 'approval', {})).rejects.toMatchObject({ code: 'invalid_state' });
    await expect(signalWorkflow(engine, '01ARZ3NDEKTSV4RRFFQ69G5FAV', 'approval', {})).rejects.toMatchObject({ code: 'task_not_found' });
  });
});

describe('from a handler\'s background tasks', () => {
  it('enqueues a workflow added with backgroundTasks.add(chain(...)) with the rest, under the id add returned', { timeout: 30_000 }, async () => {
    let workflowId = '';
    const handler = withBackgroundTasks(async (_event: unknown, _context, backgroundTasks) => {
      workflowId = backgroundTasks.add(chain(double.with({ n: 3 }), double)).taskId;
      backgroundTasks.add(writeLog, { message: 'beside a workflow' });
      return 'ok';
    }, { engine: () => engine });

    expect(await handler({}, lambdaContext())).toBe('ok');

    expect(await runWorkflow([engine], workflowId)).toMatchObject({ status: 'SUCCEEDED', result: { n: 12 } });
    expect(() => withBackgroundTasks(async (_e: unknown, _c, tasks) => tasks.add(chain(double)))).not.toThrow();
  });

  it('checks it at add, and cancels it when the handler\'s other tasks cannot be enqueued (all or nothing)', { timeout: 30_000 }, async () => {
    expectErrorLogs('Background tasks could not be enqueued');
    const sibling = siblingEngine(aws, engine);
    sibling.sqs.add({ command: 'SendMessageBatch', effect: 'fail', error: serviceUnavailable, when: (input) => JSON.stringify(input).includes('write_log') });
    let workflowId = '';
    const handler = withBackgroundTasks(async (_event: unknown, _context, backgroundTasks) => {
      expect(() => backgroundTasks.add(chain(double.with({ n: 'x' } as never)))).toThrow(expect.objectContaining({ code: 'validation_error' }));
      workflowId = backgroundTasks.add(chain(waitFor('approval', { timeoutSeconds: 600 }), double)).taskId;
      backgroundTasks.add(writeLog, { message: 'cannot be sent' });
      return 'ok';
    }, { engine: () => sibling.engine });

    await expect(handler({}, lambdaContext())).rejects.toMatchObject({ code: 'background_enqueue_failed' });

    expect(await engine.store.get(workflowId)).toMatchObject({ status: 'CANCELLED', error: { type: 'WorkflowCancelled' } });
    expect((await engine.store.get(stepId(workflowId, 0)))?.status).toBe('CANCELLED');
  });
});

describe('cancel and retry', () => {
  it('refuses two waits for one signal name: a signal sent again after a 503 must not end the later one', async () => {
    await expect(enqueue(chain(waitFor('approval', { timeoutSeconds: 60 }), add, waitFor('approval', { timeoutSeconds: 60 }), add), {}, engine)).rejects.toMatchObject({
      code: 'validation_error',
      details: [{ path: 'steps.2.waitFor', message: '"approval" is waited for by an earlier step: each wait needs a name of its own' }],
    });
  });

  it('cancels a waiting workflow and its waiting step; a signal then answers 409', { timeout: 30_000 }, async () => {
    const { taskId } = await enqueue(chain(waitFor('approval', { timeoutSeconds: 600 }), add), {}, engine);

    const cancelled = await cancelTask(engine, taskId);

    expect(cancelled).toMatchObject({ status: 'CANCELLED', error: { type: 'WorkflowCancelled' } });
    expect((await engine.store.get(stepId(taskId, 0)))?.status).toBe('CANCELLED');
    await expect(signalWorkflow(engine, taskId, 'approval', {})).rejects.toMatchObject({ code: 'invalid_state' });
    await expect(cancelTask(engine, taskId)).rejects.toMatchObject({ code: 'invalid_state' });
  });

  it('cancels a step that was being enqueued while the cancel swept the steps: it never runs', { timeout: 30_000 }, async () => {
    const worker = siblingEngine(aws, engine);
    let workflowId = '';
    let cancelled: Promise<unknown> | undefined;
    // Step 1's definition is written only once a client's cancel has swept the steps (and found none to cancel).
    worker.dynamo.add({
      command: 'PutItem',
      effect: 'delay',
      when: (input) => (input as { Item?: { taskId?: string; sk?: string } }).Item?.taskId === stepId(workflowId, 1),
      before: async () => {
        cancelled ??= cancelTask(engine, workflowId);
        await cancelled;
      },
    });
    ({ taskId: workflowId } = await enqueue(chain(add.with({ n: 1 }), add), {}, engine));

    const record = await runWorkflow([worker.engine], workflowId);
    await cancelled;

    expect(record).toMatchObject({ status: 'CANCELLED', error: { type: 'WorkflowCancelled' } });
    // CANCELLED, which no claim takes: whenever its message comes, it runs nothing.
    expect((await engine.store.get(stepId(workflowId, 1)))?.status).toBe('CANCELLED');
    expect(runsOf(workflowId, 2)).toEqual([1, 0]);
  });

  it('ends a workflow CANCELLED at once when a client cancels its waiting step, not when the wait\'s message comes', async () => {
    const { taskId } = await enqueue(chain(waitFor('approval', { timeoutSeconds: 3_600 }), add), {}, engine);

    await cancelTask(engine, stepId(taskId, 0));

    expect(await engine.store.get(taskId)).toMatchObject({ status: 'CANCELLED', error: { type: 'TaskCancelled', message: 'Step 0 (workflow.wait) was cancelled' } });
  });

  it('retries a failed chain from its failed step, without running the steps that succeeded again', { timeout: 60_000 }, async () => {
    let refuse = true;
    const sometimes = defineTask({
      name: 'wf_sometimes',
      payload: z.object({ n: z.number() }),
      maxAttempts: 1,
      run: ({ n }, ctx) => {
        counted(ctx.taskId);
        if (refuse) throw new Error('not yet');
        return { n: n * 10 };
      },
    });
    const { taskId } = await enqueue(chain(add.with({ n: 1 }), sometimes, add), {}, engine);
    expect((await runWorkflow([engine], taskId)).status).toBe('FAILED');

    refuse = false;
    const retried = await retryTask(engine, taskId);
    expect(retried).toMatchObject({ status: 'RUNNING', run: 2 });
    const record = await runWorkflow([engine], taskId);

    expect(record).toMatchObject({ status: 'SUCCEEDED', result: { n: 21 } });
    expect(runsOf(taskId, 3)).toEqual([1, 2, 1]);
  });

  it('moves a retried chain on when its step ends between the retry\'s read and its reopening of the workflow', { timeout: 30_000 }, async () => {
    const fresh = await createTestEngine(aws);
    const { taskId } = await enqueue(chain(add.with({ n: 1 }), add), {}, fresh);
    await processBatch(fresh, { Records: [await receiveTaskMessage(aws.sqs, fresh.config.queueUrls.default, stepId(taskId, 0))] }, lambdaContext());
    // Step 1 runs; a client cancels the workflow meanwhile (the step is asked to stop, and finishes first).
    const step = await claimById(fresh, stepId(taskId, 1), new Date(), 60_000);
    await cancelTask(fresh, taskId);
    const { engine: api, dynamo } = siblingEngine(aws, fresh);
    // The step's success lands just before the retry reopens the workflow: its own move found the workflow over.
    dynamo.add({
      command: 'UpdateItem',
      effect: 'delay',
      when: (input) => (input as { Key?: { sk?: string } }).Key?.sk === stateKey(taskId).sk && String((input as { UpdateExpression?: string }).UpdateExpression).includes('run = :next'),
      before: async () => {
        const entry = { attempt: 1, run: 1, startedAt: new Date().toISOString(), durationMs: 1, outcome: 'succeeded' as const };
        await finishAttempt(fresh.store, step, entry, { status: 'SUCCEEDED', resultJson: '{"n":3}' }, new Date());
        await advanceWorkflow(fresh, (await fresh.store.getItems(stepId(taskId, 1))).task!);
      },
    });

    await retryTask(api, taskId);

    expect(await fresh.store.get(taskId)).toMatchObject({ status: 'SUCCEEDED', result: { n: 3 }, run: 2 });
  });

  it('gives a retried workflow its whole retention again, from the retry: its state and its definition', { timeout: 30_000 }, async () => {
    const failing = defineTask({ name: 'wf_always_fails', payload: z.object({}), maxAttempts: 1, run: () => { throw new Error('no'); } });
    const { taskId } = await enqueue(chain(failing.with({})), {}, engine);
    expect((await runWorkflow([engine], taskId)).status).toBe('FAILED');
    const retriedAt = Date.now() + 29 * 86_400_000;
    const day29: Engine = { ...engine, now: () => new Date(retriedAt) };

    await retryTask(day29, taskId);

    const expected = Math.floor(retriedAt / 1000) + 30 * 86_400;
    const { task, state } = await engine.store.getItems(taskId);
    expect(state!.expiresAt).toBe(expected);
    expect(task!.expiresAt).toBe(expected);
  });

  it('retries a failed group: its failed member runs again, and the fan-in sees every result', { timeout: 60_000 }, async () => {
    let refuse = true;
    const sometimes = defineTask({
      name: 'wf_sometimes_member',
      payload: z.object({ n: z.number() }),
      maxAttempts: 1,
      run: ({ n }) => {
        if (refuse) throw new Error('not yet');
        return { n };
      },
    });
    const { taskId } = await enqueue(group([add.with({ n: 1 }), sometimes.with({ n: 7 }), add.with({ n: 2 })], { then: collect }), {}, engine);
    expect((await runWorkflow([engine], taskId)).status).toBe('FAILED');
    // The other members end too (their ends are not counted while the workflow is over).
    await new Promise((r) => setTimeout(r, 500));

    refuse = false;
    await retryTask(engine, taskId);
    const record = await runWorkflow([engine], taskId);

    expect(record).toMatchObject({ status: 'SUCCEEDED', result: { results: [{ n: 2 }, { n: 7 }, { n: 3 }] } });
  });
});
