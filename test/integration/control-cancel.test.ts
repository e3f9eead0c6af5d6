import { setTimeout as sleepFor } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cancelTask } from '../../lib/cancel';
import { TaskCancelledError } from '../../lib/control/errors';
import type { Engine } from '../../lib/engine';
import { enqueue } from '../../lib/enqueue';
import { retryTask } from '../../lib/retry';
import { defineTask } from '../../lib/task';
import type { TaskRecord } from '../../lib/types';
import { call, testApi } from '../support/api';
import { createTestEngine, siblingEngine, startLocalAws, type LocalAws } from '../support/aws';
import { claimById, gate, runNextBatch, runUntilTerminal } from '../support/drive';
import { internalServerError, type FaultKit } from '../support/faults';
import { expectErrorLogs } from '../support/logs';

/**
 * Cancelling a RUNNING task (lib/control/cancelRunning.ts, attempt.ts): the api
 * leaves a request on the task's state, the running attempt notices it (a
 * read now and then after its first 2 s, or the refusal of a progress write),
 * aborts ctx.signal with a TaskCancelledError and records CANCELLED; a
 * handler that ignores the signal runs on, and its outcome is never recorded.
 */
let aws: LocalAws;
let engine: Engine;
let api: ReturnType<typeof testApi>;

beforeAll(async () => {
  aws = await startLocalAws();
  engine = await createTestEngine(aws);
  api = testApi(engine);
});
afterAll(async () => aws.close());

// The `fail`-like attempts below end FAILED or are cancelled; none is an operator's page but the one that fails for good.
expectErrorLogs('Task failed');

let held = gate();
let heldRuns = 0;
/** Its first run waits for the test (ignoring its signal), then answers late; later runs answer at once. */
const deaf = defineTask({
  name: 'ctl_deaf',
  payload: z.object({}),
  maxAttempts: 1,
  run: async () => {
    if (heldRuns++ > 0) return { late: false };
    await held.wait;
    return { late: true };
  },
});

const reasons: unknown[] = [];
/** Waits on its signal, and ends with its reason. */
const listening = defineTask({
  name: 'ctl_listening',
  payload: z.object({ progressEveryMs: z.number().optional() }),
  maxAttempts: 1,
  run: async ({ progressEveryMs }, ctx) => {
    let done = 0;
    const ticks = progressEveryMs ? setInterval(() => void ctx.progress({ done: ++done }), progressEveryMs) : undefined;
    try {
      await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)));
    } catch (reason) {
      reasons.push(reason);
      throw reason;
    } finally {
      clearInterval(ticks);
    }
  },
});

/** Runs `ms`, then fails (`fails`) or succeeds. */
const timed = defineTask({
  name: 'ctl_timed',
  payload: z.object({ ms: z.number(), fails: z.boolean() }),
  maxAttempts: 3,
  run: async ({ ms, fails }) => {
    await sleepFor(ms);
    if (fails) throw new Error('the attempt failed on its own');
    return { ran: ms };
  },
});

const queue = () => engine.config.queueUrls.default;

/** Polls the task until `until` holds; its record. */
async function waitFor(taskId: string, until: (r: TaskRecord) => boolean, timeoutMs = 10_000): Promise<TaskRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const record = (await engine.store.get(taskId))!;
    if (until(record)) return record;
    if (Date.now() > deadline) throw new Error(`task ${taskId} is ${record.status}`);
    await sleepFor(50);
  }
}
const running = (r: TaskRecord) => r.status === 'RUNNING';

/** Delivers the task's message to `on` (a worker instance) in the background, until its attempt runs; the batch's promise (wrapped, not awaited). */
async function startOn(on: Engine, taskId: string) {
  const batch = runNextBatch(on, aws, queue());
  await waitFor(taskId, running);
  return { batch };
}

/** Reads of the state by a running attempt's watch (its projection), seen by `kit`. */
const watchReads = (kit: FaultKit) => kit.calls.filter((c) => c.command === 'GetItem' && c.input.ProjectionExpression !== undefined).length;
/** Writes to tasks' state items seen by `kit`. */
const stateWrites = (kit: FaultKit) => kit.calls.filter((c) => c.command === 'UpdateItem' && String(c.input.Key?.sk).endsWith('#state')).length;

describe('cancelling a RUNNING task', () => {
  it('answers 202, then the task ends CANCELLED within a few seconds, and a handler that ignores its signal has its late result discarded', { timeout: 30_000 }, async () => {
    held = gate();
    heldRuns = 0;
    const { taskId } = await enqueue(deaf, {}, {}, engine);
    const { batch } = await startOn(engine, taskId);

    const asked = Date.now();
    const res = await call(api, 'DELETE', `/tasks/${taskId}`);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ taskId, status: 'RUNNING', cancelRequestedAt: expect.any(String), finishedAt: null });
    // The worker's batch ends once it has recorded the cancel, though the handler still runs.
    await batch;
    const cancelled = (await engine.store.get(taskId))!;
    expect(Date.now() - asked).toBeLessThan(5_000);
    expect(cancelled).toMatchObject({
      status: 'CANCELLED',
      attempts: 1,
      cancelRequestedAt: res.body!.cancelRequestedAt,
      error: { type: 'TaskCancelled', message: `The task was cancelled while running (requested at ${res.body!.cancelRequestedAt})` },
    });
    expect(cancelled.result).toBeUndefined();
    expect(Date.parse(cancelled.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(cancelled.cancelRequestedAt!));
    expect(cancelled.attemptLog.map((a) => a.outcome)).toEqual(['cancelled']);

    // A manual retry starts run 2, which runs; then the first run's handler answers, late: nothing of it is recorded.
    await retryTask(engine, taskId);
    await runUntilTerminal(engine, aws, [taskId]);
    held.open();
    await sleepFor(200);
    expect(await engine.store.get(taskId)).toMatchObject({ status: 'SUCCEEDED', run: 2, result: { late: false } });
    expect((await engine.store.get(taskId))!.cancelRequestedAt).toBeUndefined();
  });

  it('aborts the handler\'s signal with a TaskCancelledError, whose time is the request\'s', { timeout: 20_000 }, async () => {
    reasons.length = 0;
    const { taskId } = await enqueue(listening, {}, {}, engine);
    const { batch } = await startOn(engine, taskId);

    const record = await cancelTask(engine, taskId);
    await batch;

    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toBeInstanceOf(TaskCancelledError);
    expect(reasons[0]).toMatchObject({ name: 'TaskCancelledError', requestedAt: record.cancelRequestedAt });
    expect(await engine.store.get(taskId)).toMatchObject({ status: 'CANCELLED' });
  });

  it('learns of the cancel from a refused progress write, without reading the state', { timeout: 20_000 }, async () => {
    const worker = siblingEngine(aws, engine);
    const { taskId } = await enqueue(listening, { progressEveryMs: 150 }, {}, engine);
    const { batch } = await startOn(worker.engine, taskId);
    await waitFor(taskId, (r) => r.progress !== undefined);

    const asked = Date.now();
    await cancelTask(engine, taskId);
    await batch;

    expect(Date.now() - asked).toBeLessThan(1_800);
    expect(watchReads(worker.dynamo)).toBe(0);
    expect(await engine.store.get(taskId)).toMatchObject({ status: 'CANCELLED', progress: { done: expect.any(Number) } });
  });

  it('costs a short task nothing: no read of its state, no write but its claim and outcome; a longer one reads, and writes nothing more', { timeout: 20_000 }, async () => {
    const worker = siblingEngine(aws, engine);
    const short = await enqueue(timed, { ms: 100, fails: false }, {}, engine);
    await runNextBatch(worker.engine, aws, queue());
    expect([watchReads(worker.dynamo), stateWrites(worker.dynamo)]).toEqual([0, 2]);

    worker.dynamo.clear();
    const long = await enqueue(timed, { ms: 2_600, fails: false }, {}, engine);
    await runNextBatch(worker.engine, aws, queue());
    expect(watchReads(worker.dynamo)).toBe(1);
    expect(stateWrites(worker.dynamo)).toBe(2);
    expect((await Promise.all([short.taskId, long.taskId].map((id) => engine.store.get(id)))).map((r) => r!.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
  });

  it('ends the run CANCELLED, not RETRYING, when its attempt fails after the cancel was asked', { timeout: 20_000 }, async () => {
    const { taskId } = await enqueue(timed, { ms: 600, fails: true }, {}, engine);
    const { batch } = await startOn(engine, taskId);

    await cancelTask(engine, taskId);
    const response = await batch;

    expect(response.response.batchItemFailures).toEqual([]);
    const record = (await engine.store.get(taskId))!;
    expect(record).toMatchObject({ status: 'CANCELLED', attempts: 1, error: { type: 'TaskCancelled' } });
    expect(record.error!.message).toMatch(/^Cancelled while running \(requested at .*\); the attempt had failed: the attempt failed on its own$/);
    expect(record.attemptLog.map((a) => a.outcome)).toEqual(['failed']);
  });

  it('keeps the outcome of an attempt that succeeded before it noticed the cancel, with the request\'s time', { timeout: 20_000 }, async () => {
    const { taskId } = await enqueue(timed, { ms: 600, fails: false }, {}, engine);
    const { batch } = await startOn(engine, taskId);

    const asked = await cancelTask(engine, taskId);
    await batch;

    expect(await engine.store.get(taskId)).toMatchObject({ status: 'SUCCEEDED', result: { ran: 600 }, cancelRequestedAt: asked.cancelRequestedAt });
    // Finished: a cancel now is refused.
    expect((await call(api, 'DELETE', `/tasks/${taskId}`)).status).toBe(409);
  });

  it('answers the same 202 to a second request, and recognises its own request whose answer was lost below the SDK\'s retries', { timeout: 20_000 }, async () => {
    const { taskId } = await enqueue(timed, { ms: 1, fails: false }, {}, engine);
    await claimById(engine, taskId, new Date(), 60_000);
    const other = siblingEngine(aws, engine);
    const lost = other.dynamo.add({ command: 'UpdateItem', step: 'deserialize', effect: 'lose-answer', error: internalServerError, times: 1, when: (input) => String(input.UpdateExpression).includes('cancelRequestedAt') });

    const first = await call(testApi(other.engine), 'DELETE', `/tasks/${taskId}`);
    const second = await call(api, 'DELETE', `/tasks/${taskId}`);

    expect(lost.hits).toBe(1);
    expect([first.status, second.status]).toEqual([202, 202]);
    expect(second.body!.cancelRequestedAt).toBe(first.body!.cancelRequestedAt);
  });

  it('cancels at once (200) a running task whose worker is gone (its lease ended), and its message is then dropped', { timeout: 20_000 }, async () => {
    const own = await createTestEngine(aws);
    const { taskId } = await enqueue(timed, { ms: 1, fails: false }, {}, own);
    await claimById(own, taskId, new Date(Date.now() - 120_000), 60_000);

    const res = await call(testApi(own), 'DELETE', `/tasks/${taskId}`);

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'CANCELLED', error: { type: 'TaskCancelled' }, cancelRequestedAt: expect.any(String) });
    const { received, response } = await runNextBatch(own, aws, own.config.queueUrls.default);
    expect([received, response.batchItemFailures]).toEqual([1, []]);
    expect(await own.store.get(taskId)).toMatchObject({ status: 'CANCELLED', attempts: 1 });
  });

  it('ends CANCELLED, when its lease ends, a run whose attempt was asked to stop and then vanished', { timeout: 20_000 }, async () => {
    const own = await createTestEngine(aws);
    const { taskId } = await enqueue(timed, { ms: 1, fails: false }, {}, own);
    await claimById(own, taskId, new Date(), 1_500);
    expect((await cancelTask(own, taskId)).status).toBe('RUNNING');

    await sleepFor(1_600);
    const { received, response } = await runNextBatch(own, aws, own.config.queueUrls.default);

    expect([received, response.batchItemFailures]).toEqual([1, []]);
    expect(await own.store.get(taskId)).toMatchObject({
      status: 'CANCELLED',
      attempts: 1,
      error: { type: 'TaskCancelled', message: 'Cancelled while running; the attempt never reported (its worker was gone)' },
    });
  });
});
