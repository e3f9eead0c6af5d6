import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../lib/engine';
import { cancelTask } from '../../lib/cancel';
import { enqueue, enqueueByName, enqueueMany } from '../../lib/enqueue';
import { toMessage } from '../../lib/message';
import { newTaskItems, type NewTask } from '../../lib/store/items';
import { defineTask } from '../../lib/task';
import { writeLog } from '../../lib/tasks/examples';
import * as z from '../../lib/zod';
import { call, testApi } from '../support/api';
import { createTestEngine, siblingEngine, startLocalAws, testBucket, type LocalAws } from '../support/aws';
import { runUntilTerminal } from '../support/drive';
import { serviceUnavailable } from '../support/faults';
import { expectErrorLogs } from '../support/logs';
import { CALLER, CALLER_TRACEPARENT, parentOf, recordSpans, spanNamed, type SpanRecorder } from '../support/tracing';
import { newTaskId } from '../../lib/keys';
import { toStored } from '../../lib/tracing/storedTrace';

/**
 * Tracing with an OpenTelemetry SDK registered (as lib/tracing/setup does on
 * a stage with tracing on), exporting to memory: the api's request, its
 * enqueue and every attempt of the task, through the real local SQS and
 * DynamoDB, are one trace.
 */
// The enqueue refused while SQS is down answers 503, which the api logs as an ERROR.
expectErrorLogs(/Request failed/);

/** A task whose handler makes a span of its own, as an instrumented call inside a task does (registered by defining it). */
defineTask({
  name: 'tracing_charge_card',
  payload: z.object({ amount: z.int() }),
  run: ({ amount }) => trace.getTracer('shop').startActiveSpan('charge card', (span) => {
    span.setAttribute('amount', amount);
    span.end();
    return { charged: amount };
  }),
});

/** Runs until a client cancels it (lib/control): its signal aborts with the cancel. */
defineTask({
  name: 'tracing_until_cancelled',
  payload: z.object({}),
  timeoutSeconds: 30,
  run: (_payload, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error))),
});

let aws: LocalAws;
let engine: Engine;
let api: ReturnType<typeof testApi>;
let recorder: SpanRecorder;

beforeAll(async () => {
  recorder = recordSpans();
  aws = await startLocalAws();
  engine = await createTestEngine(aws);
  api = testApi(engine);
});
afterAll(async () => {
  await recorder.stop();
  await aws.close();
});
beforeEach(() => recorder.reset());

const attemptsOf = (spans: ReadableSpan[], name: string) =>
  spans.filter((s) => s.name === `process ${name}`).sort((a, b) => Number(a.attributes['task.attempt']) - Number(b.attributes['task.attempt']));

describe('a request with a traceparent', () => {
  it('is one trace with its enqueue and every attempt of its task, across a retry and the SQS hop', async () => {
    const accepted = await call(api, 'POST', '/tasks', { body: { name: 'flaky', payload: { failTimes: 1, key: 'traced' } }, headers: { traceparent: CALLER_TRACEPARENT } });
    expect(accepted.status).toBe(202);
    const taskId = accepted.body!.taskId as string;
    const [record] = await runUntilTerminal(engine, aws, [taskId]);
    const read = await call(api, 'GET', `/tasks/${taskId}`);

    expect(record).toMatchObject({ status: 'SUCCEEDED', attempts: 2, traceId: CALLER.traceId });
    expect(read.body).toMatchObject({ traceId: CALLER.traceId });
    const spans = recorder.trace(CALLER.traceId);
    const request = spanNamed(spans, 'POST /tasks');
    const send = spanNamed(spans, 'send flaky');
    const [first, second] = attemptsOf(spans, 'flaky');
    // The request is the caller's child; the enqueue the request's; every attempt the enqueue's.
    expect(request).toMatchObject({ kind: SpanKind.SERVER, attributes: { 'http.request.method': 'POST', 'http.route': '/tasks', 'http.response.status_code': 202 } });
    expect(parentOf(request)).toBe(CALLER.spanId);
    expect(parentOf(send)).toBe(request.spanContext().spanId);
    expect(send).toMatchObject({
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'aws_sqs',
        'messaging.operation.type': 'send',
        'messaging.destination.name': engine.config.queueUrls.default.split('/').pop(),
        'task.id': taskId,
        'task.name': 'flaky',
        'task.priority': 'default',
        'task.created': true,
      },
    });
    expect(send.status.code).toBe(SpanStatusCode.UNSET);
    expect(attemptsOf(spans, 'flaky')).toHaveLength(2);
    for (const attempt of [first!, second!]) {
      expect(parentOf(attempt)).toBe(send.spanContext().spanId);
      expect(attempt.kind).toBe(SpanKind.CONSUMER);
      expect(attempt.attributes).toMatchObject({ 'messaging.system': 'aws_sqs', 'messaging.operation.type': 'process', 'task.id': taskId, 'task.name': 'flaky', 'task.run': 1, 'task.max_attempts': 5 });
      expect(attempt.attributes['messaging.message.id']).toEqual(expect.any(String));
    }
    expect(first!.attributes).toMatchObject({ 'task.attempt': 1, 'task.outcome': 'failed', 'task.status': 'RETRYING', 'error.type': 'Error' });
    expect(first!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'flaky traced: failing attempt 1 of 1' });
    expect(first!.events.map((e) => [e.name, e.attributes?.['exception.type'], e.attributes?.['exception.message']])).toEqual([['exception', 'Error', 'flaky traced: failing attempt 1 of 1']]);
    expect(first!.attributes['task.queue_wait_ms']).toBeGreaterThanOrEqual(0);
    expect(second!.attributes).toMatchObject({ 'task.attempt': 2, 'task.outcome': 'succeeded', 'task.status': 'SUCCEEDED' });
    expect(second!.attributes['task.queue_wait_ms']).toBeUndefined();
    expect(second!.attributes['error.type']).toBeUndefined();
    expect(second!.status.code).toBe(SpanStatusCode.UNSET);
    // The retry links to the attempt before it, whose span id the attempt log kept.
    expect(second!.links.map((l) => [l.context.traceId, l.context.spanId, l.attributes])).toEqual([[CALLER.traceId, first!.spanContext().spanId, { 'task.attempt': 1, 'task.run': 1 }]]);
    expect(first!.links).toEqual([]);
    expect(record!.attemptLog.map((a) => a.spanId)).toEqual([first!.spanContext().spanId, second!.spanContext().spanId]);
  });

  it('nests the task’s own spans under its attempt', async () => {
    const accepted = await call(api, 'POST', '/tasks', { body: { name: 'tracing_charge_card', payload: { amount: 42 } }, headers: { traceparent: CALLER_TRACEPARENT } });
    await runUntilTerminal(engine, aws, [accepted.body!.taskId as string]);

    const spans = recorder.trace(CALLER.traceId);
    const attempt = spanNamed(spans, 'process tracing_charge_card');
    const own = spanNamed(spans, 'charge card');
    expect(parentOf(own)).toBe(attempt.spanContext().spanId);
    expect(own.attributes).toEqual({ amount: 42 });
    expect(own.instrumentationScope.name).toBe('shop');
  });

  it('names the request after its route, and joins a retry’s attempts to the task’s trace as run 2', async () => {
    // Each run of the fail task ends FAILED, logged at ERROR.
    expectErrorLogs(/^Task failed$/);
    const taskId = (await call(api, 'POST', '/tasks', { body: { name: 'fail', payload: { message: 'no' }, maxAttempts: 1 }, headers: { traceparent: CALLER_TRACEPARENT } })).body!.taskId as string;
    await runUntilTerminal(engine, aws, [taskId]);
    // The retry comes from another trace; the task keeps its own.
    const retried = await call(api, 'POST', `/tasks/${taskId}/retry`, { headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
    expect(retried.status).toBe(202);
    const [record] = await runUntilTerminal(engine, aws, [taskId]);

    expect(record).toMatchObject({ status: 'FAILED', run: 2, traceId: CALLER.traceId });
    const attempts = recorder.trace(CALLER.traceId).filter((s) => s.name === 'process fail');
    expect(attempts.map((a) => [a.attributes['task.run'], a.attributes['task.attempt']])).toEqual([[1, 1], [2, 1]]);
    expect(attempts[1]!.links.map((l) => l.context.spanId)).toEqual([attempts[0]!.spanContext().spanId]);
    expect(spanNamed(recorder.trace('0af7651916cd43dd8448eb211c80319c'), 'POST /tasks/{id}/retry').attributes['http.route']).toBe('/tasks/{id}/retry');
  });

  it('carries the caller’s tracestate with the task', async () => {
    const accepted = await call(api, 'POST', '/tasks', {
      body: { name: 'write_log', payload: { message: 'with state' } },
      headers: { traceparent: CALLER_TRACEPARENT, tracestate: 'vendor=opaque,other=1' },
    });
    await runUntilTerminal(engine, aws, [accepted.body!.taskId as string]);

    const attempt = spanNamed(recorder.trace(CALLER.traceId), 'process write_log');
    expect(attempt.spanContext().traceState?.serialize()).toBe('vendor=opaque,other=1');
  });
});

describe('a running task a client cancels', () => {
  it('ends its attempt’s span, CANCELLED, not in error', { timeout: 30_000 }, async () => {
    const { taskId } = await enqueueByName(engine, 'tracing_until_cancelled', {});
    const running = runUntilTerminal(engine, aws, [taskId], 25_000);
    while ((await engine.store.get(taskId))?.status !== 'RUNNING') await new Promise((r) => setTimeout(r, 50));

    await cancelTask(engine, taskId);
    const [record] = await running;

    expect(record).toMatchObject({ status: 'CANCELLED' });
    const [attempt] = attemptsOf(recorder.trace(record!.traceId!), 'tracing_until_cancelled');
    expect(attempt?.attributes).toMatchObject({ 'task.outcome': 'cancelled', 'task.status': 'CANCELLED' });
    expect(attempt?.status.code).not.toBe(SpanStatusCode.ERROR);
  });
});

describe('a request without a usable traceparent', () => {
  it.each([
    ['garbage', 'not a traceparent'],
    ['upper-case hex', CALLER_TRACEPARENT.toUpperCase()],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${CALLER.spanId}-01`],
    ['version ff', `ff-${CALLER.traceId}-${CALLER.spanId}-01`],
    ['version 00 with a fifth field', `${CALLER_TRACEPARENT}-extra`],
    ['two headers joined by a comma', `${CALLER_TRACEPARENT},${CALLER_TRACEPARENT}`],
  ])('is accepted in a trace of its own when the traceparent is %s', async (_label, traceparent) => {
    const accepted = await call(api, 'POST', '/tasks', { body: { name: 'write_log', payload: { message: 'x' } }, headers: { traceparent } });
    expect(accepted.status).toBe(202);
    const [record] = await runUntilTerminal(engine, aws, [accepted.body!.taskId as string]);

    expect(record!.status).toBe('SUCCEEDED');
    expect(record!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(record!.traceId).not.toBe(CALLER.traceId);
    const spans = recorder.trace(record!.traceId!);
    expect(parentOf(spanNamed(spans, 'POST /tasks'))).toBeUndefined();
    expect(parentOf(spanNamed(spans, 'send write_log'))).toBe(spanNamed(spans, 'POST /tasks').spanContext().spanId);
    expect(parentOf(spanNamed(spans, 'process write_log'))).toBe(spanNamed(spans, 'send write_log').spanContext().spanId);
  });
});

describe('enqueues from code', () => {
  it('join the trace of the span that code is in', async () => {
    const { taskId, outer } = await trace.getTracer('app').startActiveSpan('signup', async (span) => {
      const enqueued = await enqueue(writeLog, { message: 'welcome' }, {}, engine);
      span.end();
      return { taskId: enqueued.taskId, outer: span.spanContext() };
    });
    const [record] = await runUntilTerminal(engine, aws, [taskId]);

    expect(record!.traceId).toBe(outer.traceId);
    const spans = recorder.trace(outer.traceId);
    expect(parentOf(spanNamed(spans, 'send write_log'))).toBe(outer.spanId);
    expect(parentOf(spanNamed(spans, 'process write_log'))).toBe(spanNamed(spans, 'send write_log').spanContext().spanId);
  });

  it('through withBackgroundTasks (the seed’s route): the request’s trace, one enqueue span per task', async () => {
    const res = await call(api, 'POST', '/send-notification', { query: { email: 'a@example.com' }, headers: { traceparent: CALLER_TRACEPARENT } });
    expect(res.status).toBe(202);
    const [record] = await runUntilTerminal(engine, aws, [res.body!.taskId as string]);

    expect(record!.traceId).toBe(CALLER.traceId);
    const spans = recorder.trace(CALLER.traceId);
    const send = spanNamed(spans, 'send write_log');
    expect(parentOf(send)).toBe(spanNamed(spans, 'POST /send-notification').spanContext().spanId);
    expect(send.attributes).toMatchObject({ 'task.id': record!.taskId, 'task.created': true });
    expect(parentOf(spanNamed(spans, 'process write_log'))).toBe(send.spanContext().spanId);
  });

  it('that fail end their span in error, with the error’s code', async () => {
    const sibling = siblingEngine(aws, engine);
    sibling.sqs.add({ command: 'SendMessage', effect: 'fail', error: serviceUnavailable });
    const res = await call(testApi(sibling.engine), 'POST', '/tasks', { body: { name: 'write_log', payload: { message: 'lost' } }, headers: { traceparent: CALLER_TRACEPARENT } });

    expect(res.status).toBe(503);
    const spans = recorder.trace(CALLER.traceId);
    const send = spanNamed(spans, 'send write_log');
    expect(send.status.code).toBe(SpanStatusCode.ERROR);
    expect(send.attributes['error.type']).toBe('service_unavailable');
    expect(spanNamed(spans, 'POST /tasks')).toMatchObject({ attributes: { 'http.response.status_code': 503 }, status: { code: SpanStatusCode.ERROR } });
  });
});

/** Writes a task with the trace context `definition` (none: as an engine without tracing did), and sends its message with `message`'s. */
async function taskWith(definition: { traceparent?: string }, message: { traceparent?: string }): Promise<string> {
  const task: NewTask = {
    taskId: newTaskId(), name: 'write_log', payload: { message: 'old' }, priority: 'default', maxAttempts: 3, timeoutSeconds: 10,
    createdAt: new Date().toISOString(), expiresAt: Math.floor(Date.now() / 1000) + 86_400,
    ...(definition.traceparent ? toStored({ traceparent: definition.traceparent }) : {}),
  };
  await engine.store.create(newTaskItems(task, JSON.stringify(task.payload), 17));
  const outgoing = toMessage({ taskId: task.taskId, name: task.name, priority: task.priority }, 1);
  await engine.queue.send({ ...outgoing, message: { ...outgoing.message, ...message } });
  return task.taskId;
}

describe('an enqueue of many whose payload could not be uploaded', () => {
  it('ends that task’s send span in error, and the others’ as enqueued', async () => {
    const withBucket = await createTestEngine(aws, { payloadBucket: testBucket() });
    const sibling = siblingEngine(aws, withBucket);
    sibling.s3.add({ command: 'PutObject', effect: 'fail', error: serviceUnavailable });

    const results = await enqueueMany(sibling.engine, [
      { name: 'checksum', payload: { data: 'x'.repeat(10_000) } },
      { name: 'write_log', payload: { message: 'small' } },
    ]);

    expect(results.map((r) => r.ok)).toEqual([false, true]);
    const sends = recorder.spans().filter((span) => span.name.startsWith('send '));
    expect(sends.map((span) => [span.name, span.status.code])).toEqual([
      ['send checksum', SpanStatusCode.ERROR],
      ['send write_log', SpanStatusCode.UNSET],
    ]);
  });
});

describe('a task whose definition and message name different traces', () => {
  it('runs in its definition’s, the one its record shows (an Idempotency-Key’s later request may have sent the message)', async () => {
    const other = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const taskId = await taskWith({ traceparent: CALLER_TRACEPARENT }, { traceparent: other });
    const [record] = await runUntilTerminal(engine, aws, [taskId]);

    expect(record!.traceId).toBe(CALLER.traceId);
    expect(parentOf(spanNamed(recorder.trace(CALLER.traceId), 'process write_log'))).toBe(CALLER.spanId);
    expect(recorder.trace('0af7651916cd43dd8448eb211c80319c')).toEqual([]);
  });
});

describe('a task whose definition has no trace context (enqueued before tracing)', () => {
  const oldTask = (message: { traceparent?: string }) => taskWith({}, message);

  it('takes the trace its message carries', async () => {
    const taskId = await oldTask({ traceparent: CALLER_TRACEPARENT });
    const [record] = await runUntilTerminal(engine, aws, [taskId]);

    expect(record).toMatchObject({ status: 'SUCCEEDED' });
    expect(record!.traceId).toBeUndefined();
    expect(parentOf(spanNamed(recorder.trace(CALLER.traceId), 'process write_log'))).toBe(CALLER.spanId);
  });

  it('runs in a trace of its own when neither carries one', async () => {
    const taskId = await oldTask({});
    const [record] = await runUntilTerminal(engine, aws, [taskId]);

    expect(record).toMatchObject({ status: 'SUCCEEDED' });
    const attempt = spanNamed(recorder.spans(), 'process write_log');
    expect(parentOf(attempt)).toBeUndefined();
    expect(attempt.attributes['task.id']).toBe(taskId);
  });
});
