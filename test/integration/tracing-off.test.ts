import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../lib/engine';
import { setupTracing } from '../../lib/tracing/setup/provider';
import { fromStored } from '../../lib/tracing/storedTrace';
import { call, testApi } from '../support/api';
import { createTestEngine, startLocalAws, type LocalAws } from '../support/aws';
import { runUntilTerminal } from '../support/drive';
import { CALLER, CALLER_TRACEPARENT } from '../support/tracing';

/**
 * Without tracing configured (no SDK registered, as on a stage with the
 * `tracing` param off): every tracing call of the engine is the API's no-op,
 * nothing fails, nothing is recorded in the attempt log, and each task still
 * knows its trace: the caller's, or one its enqueue started.
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

describe('without tracing configured', () => {
  it('sets up no SDK from an environment that asks for none', () => {
    expect(setupTracing({ TRACING: 'off', AWS_LAMBDA_FUNCTION_NAME: 'worker' })).toBeUndefined();
    expect(setupTracing({})).toBeUndefined();
    // Still the API's own provider, delegating to its no-op one: nothing records, nothing exports.
    expect(trace.getTracer('any').startSpan('x').isRecording()).toBe(false);
  });

  it('runs a task through a retry with the caller’s trace id on its record, and no span id in its attempt log', async () => {
    const accepted = await call(api, 'POST', '/tasks', { body: { name: 'flaky', payload: { failTimes: 1, key: 'untraced' } }, headers: { traceparent: CALLER_TRACEPARENT } });
    expect(accepted.status).toBe(202);
    const [record] = await runUntilTerminal(engine, aws, [accepted.body!.taskId as string]);

    expect(record).toMatchObject({ status: 'SUCCEEDED', attempts: 2, traceId: CALLER.traceId });
    expect(record!.attemptLog).toHaveLength(2);
    for (const attempt of record!.attemptLog) expect(Object.keys(attempt)).not.toContain('spanId');
    // The definition keeps the caller's traceparent as it came (no SDK made a span of its own), in 25 bytes.
    const { task } = await engine.store.getItems(record!.taskId);
    expect(task?.trace).toHaveLength(25);
    expect(fromStored(task)).toEqual({ traceparent: CALLER_TRACEPARENT });
  });

  it('starts a trace for each task enqueued outside any, and lists it', async () => {
    const ids = await Promise.all([1, 2].map(async (i) => (await call(api, 'POST', '/tasks', { body: { name: 'write_log', payload: { message: `m${i}` } } })).body!.taskId as string));
    const records = await runUntilTerminal(engine, aws, ids);
    const listed = await call(api, 'GET', '/tasks', { query: { name: 'write_log' } });

    const traceIds = records.map((r) => r.traceId);
    for (const id of traceIds) expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(traceIds).size).toBe(2);
    expect(listed.body!.items.filter((t: { taskId: string }) => ids.includes(t.taskId)).map((t: { traceId: string }) => t.traceId).sort()).toEqual([...traceIds].sort());
  });
});
