import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import type { Engine } from '../../lib/engine';
import { enqueue } from '../../lib/enqueue';
import { defineTask, type ResultOf } from '../../lib/task';
import { createTestEngine, startLocalAws, type LocalAws } from '../support/aws';
import { runUntilTerminal } from '../support/drive';
import { expectErrorLogs } from '../support/logs';

/**
 * `defineTask({ result })`: the worker holds every result to the schema,
 * records the schema's output, and fails a mismatch at once with InvalidResult.
 */
let aws: LocalAws;
let engine: Engine;
beforeAll(async () => {
  aws = await startLocalAws();
  engine = await createTestEngine(aws);
});
afterAll(async () => aws.close());

let answer: unknown;
const reported = defineTask({
  name: 'result_reported',
  payload: z.object({}),
  result: z.object({ sent: z.boolean(), id: z.string().min(1) }),
  maxAttempts: 3,
  // Typed as the schema's input; the test hands back whatever `answer` holds.
  run: () => answer as { sent: boolean; id: string },
});

describe('a task with a result schema', () => {
  it('records the schema’s output of a result that matches (unknown keys stripped)', async () => {
    answer = { sent: true, id: 'm-1', extra: 'dropped' };
    const { taskId } = await enqueue(reported, {}, {}, engine);

    const [record] = await runUntilTerminal(engine, aws, [taskId]);

    expect(record).toMatchObject({ status: 'SUCCEEDED', attempts: 1, result: { sent: true, id: 'm-1' } });
    expect(record!.result).not.toHaveProperty('extra');
  });

  it('fails the attempt without a retry when the result does not match, saying where', async () => {
    expectErrorLogs('Task failed');
    answer = { sent: 'yes', id: '' };
    const { taskId } = await enqueue(reported, {}, {}, engine);

    const [record] = await runUntilTerminal(engine, aws, [taskId]);

    expect(record).toMatchObject({ status: 'FAILED', attempts: 1, maxAttempts: 3, error: { type: 'InvalidResult' } });
    expect(record!.error!.message).toMatch(/^The result does not match the result schema of task "result_reported": sent: .+; id: .+/);
    expect(record!.attemptLog).toEqual([expect.objectContaining({ outcome: 'failed', error: expect.objectContaining({ type: 'InvalidResult' }) })]);
  });

  it('types the result as the schema’s output, and refuses a run that returns something else', () => {
    expectTypeOf<ResultOf<typeof reported>>().toEqualTypeOf<{ sent: boolean; id: string }>();
    defineTask({
      name: 'result_mistyped',
      payload: z.object({}),
      result: z.object({ sent: z.boolean() }),
      // @ts-expect-error: run must return the result schema's input
      run: () => ({ sent: 'no' }),
    });
  });
});
