import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { EngineConfig } from '../../lib/config';
import type { Engine } from '../../lib/engine';
import { enqueue } from '../../lib/enqueue';
import { newTaskId } from '../../lib/keys';
import { messageBody } from '../../lib/message';
import { TaskMetrics } from '../../lib/metrics';
import { finishAttempt } from '../../lib/store/claims';
import { newTaskItems, taskKey } from '../../lib/store/items';
import { defineTask } from '../../lib/task';
import { UNKNOWN_TASK_RECEIVES, type DeadlineSource } from '../../lib/worker';
import { outageBackoffSeconds } from '../../lib/backoff';
import { createTestEngine, siblingEngine, startLocalAws, type LocalAws } from '../support/aws';
import { claimById, gate, recentlyCounted, runWorker } from '../support/drive';
import { lambdaContext, receiveAll, receiveTaskMessage } from '../support/events';
import type { FaultKit } from '../support/faults';
import { expectErrorLogs } from '../support/logs';

// Its tasks fail and its reads fail on purpose.
expectErrorLogs(
  'Batch could not be read; SQS will deliver it again',
  'Message is not a task message',
  'Task failed',
  'Task message could not be processed; SQS will deliver it again',
);

/** Where a retried run's expiry moves to. */
const RETAINED_UNTIL = Math.floor(Date.now() / 1000) + 30 * 86_400;

/**
 * What the worker hands back to SQS, and after how long, when it does not
 * run a message to its end: a batch that meets the Lambda's deadline, a claim
 * the task's state refuses (each state, and the races between the claim and
 * the re-read), a message whose record is gone, a delayed first run; and what
 * it counts and measures for the attempts it runs. The worker runs on a clock
 * the test sets, so the delays it asks of SQS are exact.
 */
let aws: LocalAws;
let base: Engine;
let clock = 0;

const LEASE_MARGIN_MS = 2_000;
const DEADLINE_MARGIN_MS = 1_000;
beforeAll(async () => {
  aws = await startLocalAws();
});
// A table and queues per test: what one test hands back to SQS comes again, and would come in the next one's way.
beforeEach(async () => {
  base = await createTestEngine(aws, { leaseMarginMs: LEASE_MARGIN_MS, workerDeadlineMarginMs: DEADLINE_MARGIN_MS });
  // The worker's clock starts at the real time; a test moves it where it needs it.
  clock = Date.now();
});
afterAll(async () => aws.close());

interface Worker {
  engine: Engine;
  dynamo: FaultKit;
  sqs: FaultKit;
}

/** Another worker on the same table and queues, with faults at hand, reading the test's clock. */
function worker(overrides: Partial<EngineConfig> = {}, metrics?: TaskMetrics): Worker {
  const sibling = siblingEngine(aws, base, overrides);
  return { ...sibling, engine: { ...sibling.engine, now: () => new Date(clock), ...(metrics ? { metrics } : {}) } };
}

/** Runs `records` on `w`; returns the messages handed back, and the visibility set for each. */
const run = (w: Worker, records: SQSRecord[], context: DeadlineSource | 'no context' = lambdaContext()) =>
  runWorker(w.engine, w.sqs, records, context === 'no context' ? undefined : context);

/** A Lambda context whose deadline (less the worker's margin) comes `ms` after the batch starts. */
const deadlineIn = (ms: number): DeadlineSource => ({ getRemainingTimeInMillis: () => ms + DEADLINE_MARGIN_MS });

const url = () => base.config.queueUrls.default;
const messageOf = (taskId: string) => receiveTaskMessage(aws.sqs, url(), taskId);

/** A task of `definition` enqueued with `mode`, and its message as the worker receives it. */
async function queued(definition: typeof task | typeof single = task, mode: 'ok' | 'fail' | 'hold' | 'sleep' = 'ok'): Promise<{ taskId: string; message: SQSRecord }> {
  const { taskId } = await enqueue(definition, { mode }, {}, base);
  return { taskId, message: await messageOf(taskId) };
}

/** Sends `body` as a message of its own and receives it: a copy (a duplicate, a redrive) with its own receipt. */
async function deliver(body: string, receives?: number): Promise<SQSRecord> {
  await aws.sqs.send(new SendMessageCommand({ QueueUrl: url(), MessageBody: body }));
  const record = (await receiveAll(aws.sqs, url(), 1)).Records[0];
  if (record?.body !== body) throw new Error(`expected ${body}, got ${record?.body ?? 'none'}`);
  return receives === undefined ? record : { ...record, attributes: { ...record.attributes, ApproximateReceiveCount: String(receives) } };
}
const bodyOf = (taskId: string, name: string, run: number) => messageBody({ v: 2, taskId, name, run });


let holds: Array<() => void> = [];
let onStart: ((signal: AbortSignal) => void | Promise<void>) | undefined;
const behave = async ({ mode }: { mode: 'ok' | 'fail' | 'hold' | 'sleep' }, ctx: { signal: AbortSignal }) => {
  await onStart?.(ctx.signal);
  if (mode === 'fail') throw new Error('fails on purpose');
  if (mode === 'hold') await new Promise<void>((r) => holds.push(r));
  if (mode === 'sleep') await new Promise((r) => setTimeout(r, 50));
  return { mode };
};
const payload = z.object({ mode: z.enum(['ok', 'fail', 'hold', 'sleep']) });
const task = defineTask({ name: 'wh_task', payload, maxAttempts: 3, timeoutSeconds: 5, backoff: { baseSeconds: 40, maxSeconds: 40 }, run: behave });
const single = defineTask({ name: 'wh_single', payload, maxAttempts: 1, timeoutSeconds: 5, run: behave });

afterEach(() => {
  for (const release of holds) release();
  holds = [];
  onStart = undefined;
});

describe('a batch that meets the Lambda deadline', () => {
  it('hands back a message that never started at once, and a running attempt when its lease ends', async () => {
    const w = worker({ workerConcurrency: 1 });
    const held = await queued(task, 'hold');
    const waiting = await queued(task);
    const claimedAt = clock;
    // The attempt runs for 3 s of the worker's clock before the deadline.
    onStart = () => void (clock += 3_000);

    const { failures, visibility } = await run(w, [held.message, waiting.message], deadlineIn(2_500));

    expect(failures).toEqual([held.message.messageId, waiting.message.messageId]);
    const lease = (await base.store.get(held.taskId))!.leaseExpiresAt!;
    expect(lease).toBe(claimedAt + 5_000 + LEASE_MARGIN_MS);
    // The lease ends 4 s after the deadline; one more second, and the next claim takes the task over.
    expect(visibility.get(held.message.messageId)).toBe(5);
    expect(visibility.get(waiting.message.messageId)).toBe(0);
    for (const release of holds) release();
    await vi.waitFor(async () => expect(await base.store.get(held.taskId)).toMatchObject({ status: 'SUCCEEDED', attempts: 1 }), { timeout: 5_000, interval: 20 });
    expect(await base.store.get(waiting.taskId)).toMatchObject({ status: 'PENDING', attempts: 0 });
  });

  it('hands back a message whose claim outlasts the deadline after the task’s timeout and the lease margin; the late claim starts nothing and gives its attempt back', async () => {
    const w = worker();
    const held = gate();
    w.dynamo.add({ command: 'UpdateItem', effect: 'delay', times: 1, before: () => held.wait });
    const { taskId, message } = await queued(single);
    let started = 0;
    onStart = () => void started++;

    const { failures, visibility } = await run(w, [message], deadlineIn(1_000));

    expect(failures).toEqual([message.messageId]);
    expect(visibility.get(message.messageId)).toBe(5 + LEASE_MARGIN_MS / 1_000 + 1);
    held.open();
    // The claim lands after the worker answered: on Lambda the environment may be frozen by then, so nothing may start.
    await vi.waitFor(async () => expect(await base.store.getState(taskId)).toMatchObject({ status: 'PENDING', attempts: 0 }), { timeout: 5_000, interval: 20 });
    expect(started).toBe(0);
    expect((await base.store.getState(taskId))!.claimableAt).toBeLessThanOrEqual(Date.now());
  });

  it('hands back a message of a task this worker does not know, whose read outlasts the deadline, after the lease margin', async () => {
    const w = worker();
    const held = gate();
    w.dynamo.add({ command: 'GetItem', effect: 'delay', times: 1, before: () => held.wait });
    const message = await deliver(bodyOf(newTaskId(), 'wh_not_deployed_here', 1));

    const { failures, visibility } = await run(w, [message], deadlineIn(1_000));

    expect(failures).toEqual([message.messageId]);
    expect(visibility.get(message.messageId)).toBe(LEASE_MARGIN_MS / 1_000 + 1);
    held.open();
  });

  it('has no deadline without a Lambda context: a task that takes a while ends and is acknowledged', async () => {
    const w = worker();
    const { taskId, message } = await queued(task, 'sleep');

    const { failures, visibility } = await run(w, [message], 'no context');

    expect(failures).toEqual([]);
    expect(visibility.size).toBe(0);
    expect(await base.store.get(taskId)).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  });

  it('leaves no timer running once it answered: neither the batch’s deadline nor the attempt’s timeout', async () => {
    const w = worker();
    const { message } = await queued();
    // The worker's own timers, told by their delays: the batch's deadline (~900 s less the margin) and the attempt's timeout (5 s).
    const set = vi.spyOn(globalThis, 'setTimeout');
    const clear = vi.spyOn(globalThis, 'clearTimeout');
    try {
      const { failures } = await run(w, [message], lambdaContext());

      expect(failures).toEqual([]);
      const mine = set.mock.calls.flatMap(([, ms], i) => ((ms ?? 0) >= 5_000 ? [set.mock.results[i]!.value as unknown] : []));
      expect(mine.length).toBeGreaterThanOrEqual(2);
      const cleared = new Set(clear.mock.calls.map(([handle]) => handle as unknown));
      for (const handle of mine) expect(cleared.has(handle)).toBe(true);
    } finally {
      set.mockRestore();
      clear.mockRestore();
    }
  });
});

describe('a message whose claim the task’s state refuses', () => {
  it('hands back a message that comes during a retry’s backoff for the rest of it', async () => {
    const w = worker();
    const { taskId, message } = await queued(task, 'fail');
    await run(w, [message]);
    const nextAttemptAt = (await base.store.get(taskId))!.nextAttemptAt!;
    clock += 5_000;

    const { failures, visibility } = await run(w, [message]);

    expect(failures).toEqual([message.messageId]);
    expect(visibility.get(message.messageId)).toBe(Math.ceil((nextAttemptAt - clock) / 1_000));
    expect(await base.store.get(taskId)).toMatchObject({ status: 'RETRYING', attempts: 1 });
  });

  it('keeps a copy of a message whose task runs under a live lease until a second after the lease ends', async () => {
    const w = worker();
    const { taskId, message } = await queued();
    await claimById(base, taskId, new Date(clock - 2_000), 10_000);

    const { failures, visibility } = await run(w, [message]);

    expect(failures).toEqual([message.messageId]);
    expect(visibility.get(message.messageId)).toBe(9);
    expect(await base.store.get(taskId)).toMatchObject({ status: 'RUNNING', attempts: 1 });
  });

  it('fails the task when the last attempt’s lease ends exactly now without an outcome', async () => {
    const w = worker();
    const { taskId, message } = await queued(single);
    await claimById(base, taskId, new Date(clock - 1_000), 1_000);

    const { failures, visibility } = await run(w, [message]);

    expect(failures).toEqual([]);
    expect(visibility.size).toBe(0);
    expect(await base.store.get(taskId)).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      error: { type: 'AttemptsExhausted', message: 'The last attempt did not report an outcome (worker crashed or timed out)' },
    });
  });

  it('hands back until the live lease its claim met ends, from the state that refused the claim (no second read)', async () => {
    const w = worker();
    const { taskId, message } = await queued();
    await claimById(base, taskId, new Date(clock - 2_000), 2_500);

    const { failures, visibility } = await run(w, [message]);

    expect(failures).toEqual([message.messageId]);
    // The lease ends 0.5 s from now; one second more, rounded up.
    expect(visibility.get(message.messageId)).toBe(2);
    expect(w.dynamo.count('GetItem')).toBe(0);
    expect(await base.store.get(taskId)).toMatchObject({ status: 'RUNNING', attempts: 1 });
  });

  it('hands back for a second, and counts nothing, when the last attempt reports just before it would fail the task', async () => {
    const w = worker();
    const { taskId, message } = await queued(single);
    const claimed = await claimById(base, taskId, new Date(clock - 5_000), 1_000);
    const entry = { attempt: 1, run: 1, startedAt: new Date(clock - 5_000).toISOString(), durationMs: 4_000, outcome: 'succeeded' as const };
    w.dynamo.add({
      command: 'UpdateItem',
      effect: 'delay',
      times: 1,
      when: (input) => String(input.UpdateExpression).startsWith('SET #s = :failed'),
      before: async () => void (await finishAttempt(base.store, claimed, entry, { status: 'SUCCEEDED', resultJson: '{"late":true}' }, new Date(clock))),
    });
    const failedBefore = await recentlyCounted(base, 'failed');

    const { failures, visibility } = await run(w, [message]);

    expect(failures).toEqual([message.messageId]);
    expect(visibility.get(message.messageId)).toBe(1);
    expect(await base.store.get(taskId)).toMatchObject({ status: 'SUCCEEDED', attempts: 1, result: { late: true } });
    expect(await recentlyCounted(base, 'failed')).toBe(failedBefore);
  });

  it('acknowledges a message of a task that ended FAILED, or was CANCELLED, and runs nothing', async () => {
    const w = worker();
    const failed = await queued(single, 'fail');
    expect((await run(w, [failed.message])).failures).toEqual([]);
    const cancelled = await queued(task);
    await base.store.cancel(cancelled.taskId, new Date());

    const { failures, visibility } = await run(w, [failed.message, cancelled.message]);

    expect(failures).toEqual([]);
    expect(visibility.size).toBe(0);
    expect(await base.store.get(failed.taskId)).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect(await base.store.get(cancelled.taskId)).toMatchObject({ status: 'CANCELLED', attempts: 0 });
  });

  it('acknowledges a message of a run the task does not have, and runs nothing: the retry that makes the run sends its own', async () => {
    const w = worker();
    const { taskId } = await queued();
    await base.store.cancel(taskId, new Date());
    const message = await deliver(bodyOf(taskId, task.name, 2));

    const { failures } = await run(w, [message]);

    expect(failures).toEqual([]);
    expect(await base.store.get(taskId)).toMatchObject({ status: 'CANCELLED', run: 1, attempts: 0 });
  });
});

describe('a message whose task definition cannot be read', () => {
  /** The definition item gone (DynamoDB's TTL removes items one by one), the state left. */
  const deleteDefinition = (taskId: string) => base.store.client.send(new DeleteCommand({ TableName: base.config.tableName, Key: taskKey(taskId) }));

  it('hands back a message of the task’s current run, and acknowledges one of an older run', async () => {
    const w = worker();
    const current = await queued(task);
    await claimById(base, current.taskId, new Date(clock - 60_000), 1_000);
    const older = await queued(task);
    await base.store.cancel(older.taskId, new Date());
    await base.store.resetForRetry(older.taskId, new Date(), RETAINED_UNTIL);
    await Promise.all([deleteDefinition(current.taskId), deleteDefinition(older.taskId)]);

    const { failures, visibility } = await run(w, [current.message, older.message]);

    expect(failures).toEqual([current.message.messageId]);
    expect(visibility.get(current.message.messageId)).toBe(2);
    expect(visibility.has(older.message.messageId)).toBe(false);
  });

  it('hands back every message of a batch it cannot read, even one whose task was stopped', async () => {
    const w = worker();
    const { engine: failing, dynamo } = siblingEngine(aws, base);
    dynamo.add({ command: 'PutItem', effect: 'fail', times: 1 });
    await expect(enqueue(task, { mode: 'ok' }, {}, failing)).rejects.toThrow();
    const taskId = dynamo.calls.find((c) => c.command === 'PutItem')!.input.Item.taskId as string;
    expect((await base.store.getState(taskId))?.stopped).toBe('enqueue_failed');
    const message = await messageOf(taskId);
    w.dynamo.add({ command: 'BatchGetItem', effect: 'fail' });

    const { failures, visibility } = await run(w, [message]);

    expect(failures).toEqual([message.messageId]);
    expect(visibility.get(message.messageId)).toBe(2);
  });
});

describe('a task of a type this worker does not know', () => {
  async function putUnknownTask(): Promise<string> {
    const taskId = newTaskId();
    const now = new Date();
    const definition = { taskId, name: 'wh_renamed', payload: {}, priority: 'default' as const, maxAttempts: 3, timeoutSeconds: 30, createdAt: now.toISOString(), expiresAt: Math.floor(now.getTime() / 1000) + 3600 };
    await base.store.create(newTaskItems(definition, '{}', 2));
    return taskId;
  }

  it('waits for a worker that knows the type (an api deployed before its worker): handed back after the outage backoff, nothing written', async () => {
    const taskId = await putUnknownTask();
    const first = await deliver(bodyOf(taskId, 'wh_renamed', 1));
    const later = await deliver(bodyOf(taskId, 'wh_renamed', 1), UNKNOWN_TASK_RECEIVES - 1);

    const { failures, visibility } = await run(worker(), [first, later]);

    expect(failures).toEqual([first.messageId, later.messageId]);
    expect([visibility.get(first.messageId), visibility.get(later.messageId)]).toEqual([2, outageBackoffSeconds(UNKNOWN_TASK_RECEIVES - 1)]);
    expect(await base.store.getState(taskId)).toBeUndefined();
  });

  it('ends FAILED with an error that names the type once it has waited its receives (about half an hour)', async () => {
    const taskId = await putUnknownTask();
    const message = await deliver(bodyOf(taskId, 'wh_renamed', 1), UNKNOWN_TASK_RECEIVES);

    const { failures } = await run(worker(), [message]);

    expect(failures).toEqual([]);
    expect(await base.store.get(taskId)).toMatchObject({ status: 'FAILED', error: { type: 'UnknownTask', message: 'No task is registered under the name "wh_renamed"' } });
  });

  it('is handed back after its receive count’s backoff while a worker that knows the type runs it', async () => {
    const taskId = await putUnknownTask();
    await claimById(base, taskId, new Date(clock), 60_000);
    const message = await deliver(bodyOf(taskId, 'wh_renamed', 1), UNKNOWN_TASK_RECEIVES);

    const { failures, visibility } = await run(worker(), [message]);

    expect(failures).toEqual([message.messageId]);
    expect(visibility.get(message.messageId)).toBe(outageBackoffSeconds(UNKNOWN_TASK_RECEIVES));
    expect(await base.store.get(taskId)).toMatchObject({ status: 'RUNNING', attempts: 1 });
  });
});

describe('a first run with a delay', () => {
  it('runs a copy that comes one second before the delay is over, and hands back one that comes earlier', async () => {
    // On the high queue, which no test here reads: the delayed message itself never comes in the way.
    const { taskId, record } = await enqueue(task, { mode: 'ok' }, { delaySeconds: 30, priority: 'high' }, base);
    const runsAt = Date.parse(record.createdAt) + 30_000;
    const w = worker();
    clock = runsAt - 1_001;
    const early = await deliver(bodyOf(taskId, task.name, 1));
    const tooEarly = await run(w, [early]);
    expect(tooEarly.failures).toEqual([early.messageId]);
    expect(tooEarly.visibility.get(early.messageId)).toBe(2);
    expect(await base.store.get(taskId)).toMatchObject({ status: 'SCHEDULED', attempts: 0 });

    clock = runsAt - 1_000;
    const { failures } = await run(w, [await deliver(bodyOf(taskId, task.name, 1))]);

    expect(failures).toEqual([]);
    expect(await base.store.get(taskId)).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  });

  it('runs a retry of a delayed task at once: the delay was the first run’s', async () => {
    const { taskId } = await enqueue(task, { mode: 'ok' }, { delaySeconds: 30, priority: 'high' }, base);
    await base.store.cancel(taskId, new Date());
    await base.store.resetForRetry(taskId, new Date(), RETAINED_UNTIL);
    const message = await deliver(bodyOf(taskId, task.name, 2));

    const { failures } = await run(worker(), [message]);

    expect(failures).toEqual([]);
    expect(await base.store.get(taskId)).toMatchObject({ status: 'SUCCEEDED', run: 2, attempts: 1 });
  });
});

describe('what the worker counts and measures', () => {
  it('counts an attempt that succeeds, and not one that succeeds after another attempt took the task over', async () => {
    // The test's base table (beforeEach): no other test's counts fall in the minutes read.
    const w = worker();
    const counted = await queued(task);
    expect((await run(w, [counted.message])).failures).toEqual([]);
    expect(await recentlyCounted(base, 'succeeded')).toBe(1);

    const lost = await queued(task);
    onStart = async () => void (await claimById(base, lost.taskId, new Date(clock + 60_000), 60_000));

    const { failures } = await run(w, [lost.message]);

    expect(failures).toEqual([]);
    expect(await base.store.get(lost.taskId)).toMatchObject({ status: 'RUNNING', attempts: 2 });
    expect(await recentlyCounted(base, 'succeeded')).toBe(1);
  });

  it('counts a last attempt that fails, and acknowledges without counting one that fails after another attempt took the task over', async () => {
    // The test's base table (beforeEach): no other test's counts fall in the minutes read.
    const w = worker();
    const last = await queued(single, 'fail');
    expect((await run(w, [last.message])).failures).toEqual([]);
    expect(await recentlyCounted(base, 'failed')).toBe(1);

    const lost = await queued(task, 'fail');
    onStart = async () => void (await claimById(base, lost.taskId, new Date(clock + 60_000), 60_000));

    const { failures, visibility } = await run(w, [lost.message]);

    // The attempt that bases the task now retries it if it must: this one leaves it.
    expect(failures).toEqual([]);
    expect(visibility.size).toBe(0);
    expect(await base.store.get(lost.taskId)).toMatchObject({ status: 'RUNNING', attempts: 2 });
    expect(await recentlyCounted(base, 'failed')).toBe(1);
  });

  it('measures the queue wait of a first attempt from when the task could run, and of no later attempt or run', async () => {
    const written: string[] = [];
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    // Out of dev mode, as deployed: EMF documents go to stdout, where the test reads them.
    vi.stubEnv('POWERTOOLS_DEV', 'false');
    const metrics = new TaskMetrics(new Metrics({ namespace: 'WorkerHandbackTest', serviceName: 'worker-handback-test' }));
    vi.unstubAllEnvs();
    const w = worker({}, metrics);
    /** The QueueWaitMs values of the EMF documents one batch writes. */
    const queueWaits = async (records: SQSRecord[]): Promise<unknown[]> => {
      written.length = 0;
      const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (written.push(String(chunk)), true));
      try {
        await run(w, records);
      } finally {
        spy.mockRestore();
      }
      return written
        .flatMap((chunk) => chunk.split('\n'))
        .filter((line) => line.includes('"_aws"'))
        .map((line) => (JSON.parse(line) as { QueueWaitMs?: unknown }).QueueWaitMs)
        .filter((v) => v !== undefined);
    };

    const delayed = await enqueue(task, { mode: 'fail' }, { delaySeconds: 10, priority: 'high' }, base);
    clock = Date.parse(delayed.record.createdAt) + 10_000 + 1_500;
    const message = await deliver(bodyOf(delayed.taskId, task.name, 1));
    expect(await queueWaits([message])).toEqual([1_500]);
    clock = (await base.store.get(delayed.taskId))!.nextAttemptAt!;
    expect(await queueWaits([message])).toEqual([]);
    expect(await base.store.get(delayed.taskId)).toMatchObject({ status: 'RETRYING', attempts: 2 });

    // Claimed in the second before its delay ends (the worker allows that): it waited nothing, not a negative time (TaskMetrics clamps).
    const early = await enqueue(task, { mode: 'ok' }, { delaySeconds: 10, priority: 'high' }, base);
    clock = Date.parse(early.record.createdAt) + 10_000 - 500;
    expect(await queueWaits([await deliver(bodyOf(early.taskId, task.name, 1))])).toEqual([0]);

    const retried = await queued();
    await base.store.cancel(retried.taskId, new Date());
    await base.store.resetForRetry(retried.taskId, new Date(), RETAINED_UNTIL);
    clock = Date.now();
    expect(await queueWaits([await deliver(bodyOf(retried.taskId, task.name, 2))])).toEqual([]);
    expect(await base.store.get(retried.taskId)).toMatchObject({ status: 'SUCCEEDED', run: 2, attempts: 1 });
  });
});

describe('a message the worker cannot handle now', () => {
  it('hands back a message whose claim DynamoDB refuses to answer, after its receive count’s backoff', async () => {
    const w = worker();
    w.dynamo.add({ command: 'UpdateItem', effect: 'fail' });
    const { taskId, message } = await queued();

    const { failures, visibility } = await run(w, [message]);

    expect(failures).toEqual([message.messageId]);
    expect(visibility.get(message.messageId)).toBe(2);
    expect(await base.store.get(taskId)).toMatchObject({ status: 'PENDING', attempts: 0 });
  });

  it('takes a message without attributes as received once', async () => {
    const garbage = await deliver('{"not":"a task"}');
    const { attributes: _attributes, ...bare } = garbage;

    const { failures, visibility } = await run(worker(), [bare as SQSRecord]);

    expect(failures).toEqual([garbage.messageId]);
    expect(visibility.get(garbage.messageId)).toBe(2);
  });
});
