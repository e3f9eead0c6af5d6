import { setTimeout as sleepFor } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cancelTask } from '../../lib/cancel';
import { writeProgress } from '../../lib/control/progress';
import type { Engine } from '../../lib/engine';
import { enqueue } from '../../lib/enqueue';
import { retryTask } from '../../lib/retry';
import { claimTask } from '../../lib/store/claims';
import { defineTask } from '../../lib/task';
import { createTestEngine, siblingEngine, startLocalAws, type LocalAws } from '../support/aws';
import { claimById, runNextBatch, storedTask } from '../support/drive';
import { serviceUnavailable } from '../support/faults';

/**
 * ctx.progress (lib/control/progress.ts) against real dynalite and
 * local-aws-sqs: what a client reading the task sees while it runs and after,
 * how often it is written, and what a write may never touch.
 */
let aws: LocalAws;
let engine: Engine;

beforeAll(async () => {
  aws = await startLocalAws();
  engine = await createTestEngine(aws);
});
afterAll(async () => aws.close());

/** Reports {done: 1..steps}, one every `everyMs`, and returns right after the last. */
const counting = defineTask({
  name: 'ctl_counting',
  payload: z.object({ steps: z.number(), everyMs: z.number() }),
  run: async ({ steps, everyMs }, ctx) => {
    for (let done = 1; done <= steps; done++) {
      await sleepFor(everyMs);
      void ctx.progress({ done, of: steps });
    }
    return { steps };
  },
});

const progressWrites = (calls: ReadonlyArray<{ command: string; input: { UpdateExpression?: string } }>) =>
  calls.filter((c) => c.command === 'UpdateItem' && String(c.input.UpdateExpression).startsWith('SET progressJson'));

describe('ctx.progress', () => {
  it('shows the values in order while the task runs, at most one write a second, and keeps the last once it ends', { timeout: 30_000 }, async () => {
    const worker = siblingEngine(aws, engine);
    const { taskId } = await enqueue(counting, { steps: 12, everyMs: 250 }, {}, engine);
    const batch = runNextBatch(worker.engine, aws, engine.config.queueUrls.default);
    const seen: number[] = [];
    let finished = false;
    void batch.then(() => (finished = true));
    while (!finished) {
      const record = await engine.store.get(taskId);
      if (record?.status === 'RUNNING' && record.progress) seen.push((record.progress as { done: number }).done);
      await sleepFor(80);
    }
    await batch;

    // In order, and moving: a client polling sees it advance.
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(new Set(seen).size).toBeGreaterThanOrEqual(2);
    const writes = progressWrites(worker.dynamo.calls);
    // Three seconds of running: at most one write a second (the first at once), never one per value.
    expect(writes.length).toBeGreaterThanOrEqual(2);
    expect(writes.length).toBeLessThanOrEqual(4);
    const record = await engine.store.get(taskId);
    expect(record).toMatchObject({ status: 'SUCCEEDED', progress: { done: 12, of: 12 }, progressAt: expect.any(String) });
    // The last value went out with the outcome, not in a write of its own.
    expect(writes.map((w) => JSON.parse((w.input as { ExpressionAttributeValues: Record<string, string> }).ExpressionAttributeValues[':progress']!) as { done: number }).map((p) => p.done)).not.toContain(12);
  });

  it('never fails the task when DynamoDB refuses a progress write: the value waits for the next write, or the outcome', { timeout: 30_000 }, async () => {
    const worker = siblingEngine(aws, engine);
    const refused = worker.dynamo.add({ command: 'UpdateItem', effect: 'fail', error: serviceUnavailable, when: (input) => String(input.UpdateExpression).startsWith('SET progressJson') });
    const { taskId } = await enqueue(counting, { steps: 6, everyMs: 250 }, {}, engine);

    await runNextBatch(worker.engine, aws, engine.config.queueUrls.default);

    expect(refused.hits).toBeGreaterThanOrEqual(1);
    expect(await engine.store.get(taskId)).toMatchObject({ status: 'SUCCEEDED', attempts: 1, result: { steps: 6 }, progress: { done: 6, of: 6 } });
  });

  it('never writes over a later attempt or run: a write is the claiming attempt\'s own', async () => {
    const task = await storedTask(engine, 'ctl_counting', undefined, () => ({ steps: 1, everyMs: 1 }));
    const first = (await claimTask(engine.store, task, 1, new Date(Date.now() - 120_000), 60_000)).claimed!;
    expect(await writeProgress(engine.store, first, '{"by":"first"}', new Date())).toEqual({ outcome: 'written' });
    // The first attempt's lease ended and a second took the task over.
    const second = (await claimTask(engine.store, task, 1, new Date(), 60_000)).claimed!;

    expect(await writeProgress(engine.store, first, '{"by":"late first"}', new Date())).toEqual({ outcome: 'lost' });
    expect(await writeProgress(engine.store, second, '{"by":"second"}', new Date())).toEqual({ outcome: 'written' });
    expect((await engine.store.get(task.taskId))!.progress).toEqual({ by: 'second' });
  });

  it('starts a manual retry\'s run without the last run\'s progress', async () => {
    const { taskId } = await enqueue(counting, { steps: 1, everyMs: 1 }, {}, engine);
    const claimed = await claimById(engine, taskId, new Date(Date.now() - 120_000), 1_000);
    await writeProgress(engine.store, claimed, '{"done":1}', new Date());
    // Its lease has ended: the cancel ends it at once, and it keeps its progress.
    expect(await cancelTask(engine, taskId)).toMatchObject({ status: 'CANCELLED', progress: { done: 1 } });

    await retryTask(engine, taskId);

    const record = (await engine.store.get(taskId))!;
    expect([record.run, record.progress, record.progressAt]).toEqual([2, undefined, undefined]);
  });
});
