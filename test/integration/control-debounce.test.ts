import { setTimeout as sleepFor } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { getBurst, putBurst } from '../../lib/control/debounceStore';
import type { Engine } from '../../lib/engine';
import { enqueue } from '../../lib/enqueue';
import { DependencyUnavailableError, IdempotencyConflictError } from '../../lib/errors';
import { newTaskId } from '../../lib/keys';
import { defineTask } from '../../lib/task';
import { call, testApi } from '../support/api';
import { createTestEngine, siblingEngine, startLocalAws, type LocalAws } from '../support/aws';
import { runUntilTerminalOn } from '../support/drive';
import { rejection, serviceUnavailable } from '../support/faults';

/**
 * Debounce (lib/control/debounce.ts) against real dynalite and local-aws-sqs:
 * enqueues of one key, from two api instances, join one task until its
 * window closes; it runs once, with the last payload, `seconds` after the last.
 */
let aws: LocalAws;
let engine: Engine;

beforeAll(async () => {
  aws = await startLocalAws();
  engine = await createTestEngine(aws);
});
afterAll(async () => aws.close());

const runs: Array<{ taskId: string; n: number; at: number }> = [];
const debounced = defineTask({
  name: 'ctl_debounced',
  payload: z.object({ n: z.number() }),
  run: ({ n }, ctx) => {
    runs.push({ taskId: ctx.taskId, n, at: Date.now() });
    return { n };
  },
});

const runsOf = (taskId: string) => runs.filter((r) => r.taskId === taskId);

describe('debounce: enqueue(task, payload, { debounce: { key, seconds } })', () => {
  it('runs 20 enqueues of one key, from two api instances, once, with the last payload, `seconds` after the last', { timeout: 40_000 }, async () => {
    const other = siblingEngine(aws, engine).engine;
    const debounce = { key: 'cart-1', seconds: 2 };
    const ids: string[] = [];
    for (let n = 1; n <= 20; n++) {
      ids.push((await enqueue(debounced, { n }, { debounce }, n % 2 ? engine : other)).taskId);
      await sleepFor(30);
    }
    const lastAt = Date.now();
    const [taskId] = ids;

    expect(new Set(ids)).toEqual(new Set([taskId]));
    expect(await engine.store.get(taskId!)).toMatchObject({ status: 'PENDING', payload: { n: 20 }, debounce, nextAttemptAt: expect.any(Number) });
    const [record] = await runUntilTerminalOn([engine, other], aws, [taskId!], 30_000);

    expect(record).toMatchObject({ status: 'SUCCEEDED', attempts: 1, payload: { n: 20 }, result: { n: 20 } });
    expect(runsOf(taskId!).map((r) => r.n)).toEqual([20]);
    expect(runsOf(taskId!)[0]!.at).toBeGreaterThanOrEqual(lastAt + 2_000 - 100);
    // The window closed when it ran: the next enqueue of the key is a new task.
    const next = await enqueue(debounced, { n: 21 }, { debounce }, engine);
    expect(next.taskId).not.toBe(taskId);
  });

  it('gives 20 concurrent enqueues of one key, on two api instances, one task that runs once', { timeout: 40_000 }, async () => {
    const other = siblingEngine(aws, engine).engine;
    // A window of 3 s: on a loaded machine a request's reads and writes can take longer than a second.
    const debounce = { key: 'cart-2', seconds: 3 };
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => enqueue(debounced, { n: i + 1 }, { debounce }, i % 2 ? engine : other).then((t) => t.taskId)));

    expect(new Set(ids).size).toBe(1);
    const [record] = await runUntilTerminalOn([engine, other], aws, [ids[0]!], 30_000);

    expect(record).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
    expect(runsOf(ids[0]!)).toHaveLength(1);
    expect(record!.payload).toEqual({ n: runsOf(ids[0]!)[0]!.n });
  });

  it('takes a debounce on POST /tasks, and refuses it with delaySeconds or in a batch', async () => {
    const api = testApi(engine);
    const body = { name: 'ctl_debounced', payload: { n: 1 }, debounce: { key: 'api-1', seconds: 60 } };

    const first = await call(api, 'POST', '/tasks', { body });
    const second = await call(api, 'POST', '/tasks', { body: { ...body, payload: { n: 2 } } });
    const read = await call(api, 'GET', `/tasks/${first.body!.taskId}`);
    const delayed = await call(api, 'POST', '/tasks', { body: { ...body, delaySeconds: 5 } });
    const tooLong = await call(api, 'POST', '/tasks', { body: { ...body, debounce: { key: 'api-1', seconds: 901 } } });
    const batch = await call(api, 'POST', '/tasks/batch', { body: { tasks: [body] } });

    expect([first.status, second.status, second.body!.taskId]).toEqual([202, 202, first.body!.taskId]);
    expect(read.body).toMatchObject({ status: 'PENDING', payload: { n: 2 }, debounce: { key: 'api-1', seconds: 60 }, nextAttemptAt: expect.any(String) });
    expect(Date.parse(read.body!.nextAttemptAt as string)).toBeGreaterThan(Date.now() + 55_000);
    expect(delayed.status).toBe(400);
    expect(delayed.body!.error.details).toEqual([{ path: 'delaySeconds', message: 'a debounced task starts debounce.seconds after the last enqueue of its burst: delaySeconds does not apply' }]);
    expect([tooLong.status, tooLong.body!.error.details[0].path]).toEqual([400, 'debounce.seconds']);
    expect([batch.status, batch.body!.items[0].error.details]).toEqual([400, [{ path: 'debounce', message: 'debounce is taken by single enqueues (POST /tasks, enqueue) only' }]]);
  });

  it('answers the same task to a request whose Idempotency-Key was used, without joining again, and 409 for another body', async () => {
    const debounce = { key: 'idem-1', seconds: 60 };
    const first = await enqueue(debounced, { n: 1 }, { debounce, idempotencyKey: 'req-1' }, engine);
    const joined = await enqueue(debounced, { n: 2 }, { debounce, idempotencyKey: 'req-2' }, engine);
    const before = await engine.store.getState(first.taskId);

    const again = await enqueue(debounced, { n: 1 }, { debounce, idempotencyKey: 'req-1' }, engine);

    expect([joined.taskId, again.taskId, again.created]).toEqual([first.taskId, first.taskId, false]);
    // The retry joined nothing: the task still runs with the second payload, when it would have.
    expect(await engine.store.getState(first.taskId)).toEqual(before);
    expect((await engine.store.get(first.taskId))!.payload).toEqual({ n: 2 });
    expect(await rejection(enqueue(debounced, { n: 3 }, { debounce, idempotencyKey: 'req-1' }, engine))).toBeInstanceOf(IdempotencyConflictError);
  });

  it('answers 503 and runs nothing when the first enqueue of a burst cannot send its message; the next starts a new burst', { timeout: 30_000 }, async () => {
    const failing = siblingEngine(aws, engine);
    failing.sqs.add({ command: 'SendMessage', effect: 'fail', error: serviceUnavailable, times: 1 });
    const debounce = { key: 'unsent-1', seconds: 1 };

    const error = await rejection(enqueue(debounced, { n: 1 }, { debounce }, failing.engine));
    const unsent = (await getBurst(engine.store, 'ctl_debounced', 'unsent-1'))!.taskId;
    const next = await enqueue(debounced, { n: 2 }, { debounce }, engine);

    expect(error).toBeInstanceOf(DependencyUnavailableError);
    // Its task is stopped, so that nothing of it can run, and is readable as such.
    expect(await engine.store.get(unsent)).toMatchObject({ status: 'CANCELLED', payload: { n: 1 }, error: { type: 'EnqueueFailed', message: 'Not enqueued: SQS SendMessage failed' } });
    expect(next.taskId).not.toBe(unsent);
    await runUntilTerminalOn([engine], aws, [next.taskId], 20_000);
    expect([runsOf(next.taskId).map((r) => r.n), runsOf(unsent)]).toEqual([[2], []]);
  });

  it('joins with a write whose answer was lost above the SDK\'s retries, trying it again: 202, and its payload is the one that runs', { timeout: 30_000 }, async () => {
    const debounce = { key: 'lost-1', seconds: 1 };
    const { taskId } = await enqueue(debounced, { n: 1 }, { debounce }, engine);
    const joining = siblingEngine(aws, engine);
    const lost = joining.dynamo.add({ command: 'UpdateItem', effect: 'lose-answer', times: 1, when: (input) => String(input.UpdateExpression).includes('payloadRef') });

    const joined = await enqueue(debounced, { n: 2 }, { debounce }, joining.engine);

    expect([lost.hits, joined.taskId]).toEqual([1, taskId]);
    const [record] = await runUntilTerminalOn([engine], aws, [taskId], 20_000);
    expect(record).toMatchObject({ status: 'SUCCEEDED', payload: { n: 2 }, result: { n: 2 } });
  });

  it('fences a burst whose first request vanished before recording its task, and starts a new one', { timeout: 30_000 }, async () => {
    const quick = await createTestEngine(aws, { dispatchHoldMs: 300 });
    const vanished = newTaskId();
    await putBurst(quick.store, 'ctl_debounced', 'gone-1', { taskId: vanished, at: Date.now() }, undefined, Date.now() + 60_000);

    const started = Date.now();
    const { taskId } = await enqueue(debounced, { n: 7 }, { debounce: { key: 'gone-1', seconds: 1 } }, quick);

    expect(taskId).not.toBe(vanished);
    // It waited for the vanished request's hold first.
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(await quick.store.getState(vanished)).toMatchObject({ status: 'CANCELLED', stopped: 'enqueue_failed', error: { type: 'EnqueueFailed' } });
    await runUntilTerminalOn([quick], aws, [taskId], 20_000);
    expect(runsOf(taskId).map((r) => r.n)).toEqual([7]);
  });
});
