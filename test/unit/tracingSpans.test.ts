import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAttemptSpan } from '../../lib/tracing/attemptSpan';
import { startEnqueueSpan } from '../../lib/tracing/enqueueSpan';
import { parentContext, withIncomingTrace } from '../../lib/tracing/incomingTrace';
import { nameRequestSpan, traceRequest } from '../../lib/tracing/requestSpan';
import { CALLER, CALLER_TRACEPARENT, parentOf, recordSpans, spanNamed, type SpanRecorder } from '../support/tracing';

/** The spans the engine makes, one by one, with an in-memory SDK: their edges. */
let recorder: SpanRecorder;
beforeAll(() => {
  recorder = recordSpans();
});
afterAll(async () => recorder.stop());
beforeEach(() => recorder.reset());

const OTHER = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const task = { taskId: '01ARZ3NDEKTSV4RRFFQ69G5FAV', name: 'write_log', priority: 'default' };
const attempt = { taskId: task.taskId, name: 'write_log', run: 1, attempt: 1, maxAttempts: 3, messageId: 'm-1', queueArn: 'arn:aws:sqs:us-east-1:000000000000:tasks-default' };

describe('the request’s trace', () => {
  it('is the headers’ traceparent, read whatever the header’s case; absent headers are none', () => {
    expect(withIncomingTrace({ traceparent: CALLER_TRACEPARENT }, () => trace.getSpanContext(parentContext()!))).toMatchObject({ traceId: CALLER.traceId, spanId: CALLER.spanId, isRemote: true });
    expect(withIncomingTrace({ Traceparent: CALLER_TRACEPARENT }, () => trace.getSpanContext(parentContext()!)?.traceId)).toBe(CALLER.traceId);
    expect(withIncomingTrace(null, () => parentContext())).toBeUndefined();
    expect(withIncomingTrace(undefined, () => parentContext())).toBeUndefined();
    expect(withIncomingTrace({ traceparent: 'garbage' }, () => parentContext())).toBeUndefined();
  });

  it('stands against an inner event’s (withBackgroundTasks inside the api), and yields to a span the code started', () => {
    const inner = withIncomingTrace({ traceparent: CALLER_TRACEPARENT }, () => withIncomingTrace({ traceparent: OTHER }, () => trace.getSpanContext(parentContext()!)?.traceId));
    expect(inner).toBe(CALLER.traceId);
    const own = withIncomingTrace({ traceparent: CALLER_TRACEPARENT }, () =>
      trace.getTracer('app').startActiveSpan('mine', { root: true }, (span) => {
        span.end();
        return [trace.getSpanContext(parentContext()!)?.spanId, span.spanContext().spanId];
      }),
    );
    expect(own[0]).toBe(own[1]);
  });

  it('is a server span named by its route once known, an error from 500 on', async () => {
    const event = () => ({ headers: { traceparent: CALLER_TRACEPARENT }, rawPath: '/tasks/x', requestContext: { http: { method: 'get' } } });
    await traceRequest(event(), async () => {
      nameRequestSpan('GET', '/tasks/{id}');
      return { statusCode: 499 };
    });
    await traceRequest(event(), async () => ({ statusCode: 500 }));
    await traceRequest(undefined, async () => ({ statusCode: 200 }));

    const [named, failed, bare] = recorder.spans();
    expect(named).toMatchObject({ name: 'GET /tasks/{id}', kind: SpanKind.SERVER, attributes: { 'http.request.method': 'GET', 'url.path': '/tasks/x', 'http.route': '/tasks/{id}', 'http.response.status_code': 499 } });
    expect(named!.status.code).toBe(SpanStatusCode.UNSET);
    expect(parentOf(named!)).toBe(CALLER.spanId);
    expect(failed).toMatchObject({ name: 'GET', status: { code: SpanStatusCode.ERROR } });
    expect(bare).toMatchObject({ name: 'GET', attributes: { 'url.path': '/' } });
    expect(parentOf(bare!)).toBeUndefined();
    // Outside a request span, naming does nothing.
    expect(() => nameRequestSpan('GET', '/x')).not.toThrow();
  });
});

describe('the enqueue’s span', () => {
  it('starts a trace of its own outside any, and carries its own context', () => {
    const span = startEnqueueSpan(task, undefined);
    span.end({ ok: true, taskId: task.taskId, created: false });

    const sent = spanNamed(recorder.spans(), 'send write_log');
    expect(parentOf(sent)).toBeUndefined();
    expect(span.carrier).toEqual({ traceparent: `00-${sent.spanContext().traceId}-${sent.spanContext().spanId}-01` });
    expect(sent.kind).toBe(SpanKind.PRODUCER);
    expect(sent.attributes['messaging.destination.name']).toBeUndefined();
    expect(sent.attributes).toMatchObject({ 'task.created': false, 'task.id': task.taskId });
  });

  it('names its queue, and ends in error with the error’s code, or its type when it has none', async () => {
    const coded = startEnqueueSpan(task, 'https://sqs.us-east-1.amazonaws.com/000000000000/tasks-high');
    coded.end({ ok: false, error: Object.assign(new Error('down'), { code: 'service_unavailable' }) });
    const plain = startEnqueueSpan(task, undefined);
    await expect(plain.during(() => Promise.reject(new TypeError('bad')))).rejects.toThrow('bad');

    const [first, second] = recorder.spans();
    expect(first).toMatchObject({ attributes: { 'messaging.destination.name': 'tasks-high', 'error.type': 'service_unavailable' }, status: { code: SpanStatusCode.ERROR, message: 'down' } });
    expect(second).toMatchObject({ attributes: { 'error.type': 'TypeError' }, status: { code: SpanStatusCode.ERROR, message: 'bad' } });
    expect(second!.attributes['task.created']).toBeUndefined();
  });

  it('is the active span while the enqueue writes', async () => {
    const span = startEnqueueSpan(task, undefined);
    const seen = await span.during(async () => ({ taskId: task.taskId, created: true, active: trace.getActiveSpan()?.spanContext().spanId }));
    expect(seen.active).toBe(spanNamed(recorder.spans(), 'send write_log').spanContext().spanId);
  });
});

describe('an attempt’s span', () => {
  it('keeps no span id when nothing records it (its trace was sampled out), so its log entry gains no bytes', () => {
    const span = startAttemptSpan({ ...attempt, trace: { definition: { traceparent: CALLER_TRACEPARENT.replace(/01$/, '00') } } });
    span.end({ outcome: 'succeeded', status: 'SUCCEEDED' });

    expect(span.logFields).toEqual({});
    expect(span.traceId).toBe(CALLER.traceId);
    expect(recorder.spans()).toEqual([]);
  });

  it('links to the last attempt that kept a span id, with its attempt and run', () => {
    const log = [
      { attempt: 1, run: 1, startedAt: '', durationMs: 1, outcome: 'failed' as const, spanId: '1111111111111111' },
      { attempt: 1, run: 2, startedAt: '', durationMs: 1, outcome: 'failed' as const, spanId: '2222222222222222' },
      { attempt: 2, run: 2, startedAt: '', durationMs: 1, outcome: 'failed' as const },
    ];
    const span = startAttemptSpan({ ...attempt, run: 2, attempt: 3, trace: { definition: { traceparent: CALLER_TRACEPARENT } }, attemptLog: log });
    span.end({ outcome: 'timed_out', status: 'FAILED', error: { type: 'TaskTimeoutError', message: 'over 30 s' } });

    const [recorded] = recorder.spans();
    expect(span.logFields).toEqual({ spanId: recorded!.spanContext().spanId });
    expect(recorded!.links).toEqual([{ context: { traceId: CALLER.traceId, spanId: '2222222222222222', traceFlags: TraceFlags.SAMPLED, isRemote: true }, attributes: { 'task.attempt': 1, 'task.run': 2 } }]);
    expect(recorded!.attributes).toMatchObject({ 'messaging.destination.name': 'tasks-default', 'task.outcome': 'timed_out', 'task.status': 'FAILED', 'error.type': 'TaskTimeoutError' });
    expect(recorded!.attributes['task.queue_wait_ms']).toBeUndefined();
  });

  it('starts a trace of its own, with no link, when neither the definition nor the message carries one', () => {
    const span = startAttemptSpan({ ...attempt, trace: { message: { traceparent: 'garbage' } }, attemptLog: [{ attempt: 1, run: 1, startedAt: '', durationMs: 1, outcome: 'failed', spanId: '1111111111111111' }] });
    span.end({ outcome: 'succeeded', status: 'SUCCEEDED' });

    const [recorded] = recorder.spans();
    expect(parentOf(recorded!)).toBeUndefined();
    expect(recorded!.links).toEqual([]);
    expect(span.traceId).toBe(recorded!.spanContext().traceId);
  });

  it('runs the handler as the active span, and nothing after it', async () => {
    const span = startAttemptSpan({ ...attempt, trace: { definition: { traceparent: CALLER_TRACEPARENT } } });
    const inside = await span.run(async () => trace.getActiveSpan()?.spanContext().spanId);
    span.end({ outcome: 'succeeded', status: 'SUCCEEDED' });

    expect(inside).toBe(span.logFields.spanId);
    expect(trace.getSpan(context.active())).toBeUndefined();
    expect(context.active()).toBe(ROOT_CONTEXT);
  });
});
