import { describe, expect, it } from 'vitest';
import { messageBody, parseMessage, toMessage } from '../../lib/message';
import { toStored } from '../../lib/tracing/storedTrace';

const taskId = '01ARZ3NDEKTSV4RRFFQ69G5FAV';

describe('the task message', () => {
  it('names the task and its run, and goes to its priority’s queue with its delay', () => {
    expect(toMessage({ taskId, name: 'write_log', priority: 'high' }, 2, 30)).toEqual({ message: { v: 2, taskId, name: 'write_log', run: 2 }, priority: 'high', delaySeconds: 30 });
    expect(toMessage({ taskId, name: 'write_log', priority: 'default' }, 1)).toEqual({ message: { v: 2, taskId, name: 'write_log', run: 1 }, priority: 'default' });
  });

  it('round-trips through its body', () => {
    const { message } = toMessage({ taskId, name: 'write_log', priority: 'default' }, 3);
    expect(parseMessage(messageBody(message))).toEqual({ ok: true, message });
  });

  it('carries the task’s trace context when the caller has it, and parses messages without one', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    // As the definition stores it.
    const stored = toStored({ traceparent, tracestate: 'vendor=1' });
    const traced = toMessage({ taskId, name: 'write_log', priority: 'default', ...stored }, 1, undefined, 2);
    expect(traced.message).toEqual({ v: 2, taskId, name: 'write_log', run: 1, redrive: 2, traceparent, tracestate: 'vendor=1' });
    expect(toMessage({ taskId, name: 'write_log', priority: 'default', trace: stored.trace }, 1).message).toEqual({ v: 2, taskId, name: 'write_log', run: 1, traceparent });
    // No trace: a tracestate alone means nothing, and is not sent; nor is a corrupt stored trace.
    expect(toMessage({ taskId, name: 'write_log', priority: 'default', tracestate: 'vendor=1' }, 1).message).toEqual({ v: 2, taskId, name: 'write_log', run: 1 });
    expect(toMessage({ taskId, name: 'write_log', priority: 'default', trace: new Uint8Array(24) }, 1).message).toEqual({ v: 2, taskId, name: 'write_log', run: 1 });
    expect(parseMessage(messageBody(traced.message))).toEqual({ ok: true, message: traced.message });
    // A message sent before tracing, as the queue may still hold it.
    expect(parseMessage(JSON.stringify({ v: 2, taskId, name: 'write_log', run: 1 }))).toEqual({ ok: true, message: { v: 2, taskId, name: 'write_log', run: 1 } });
  });

  it('reads a message whose trace context is malformed: the worker ignores it, SQS must not dead-letter the task for it', () => {
    const body = JSON.stringify({ v: 2, taskId, name: 'write_log', run: 1, traceparent: 'garbage', tracestate: '' });
    expect(parseMessage(body)).toEqual({ ok: true, message: { v: 2, taskId, name: 'write_log', run: 1, traceparent: 'garbage', tracestate: '' } });
    // Not text at all is another matter: that is no message this engine wrote.
    expect(parseMessage(JSON.stringify({ v: 2, taskId, name: 'write_log', run: 1, traceparent: 7 }))).toEqual({ ok: false, taskId });
  });

  it('refuses what is not a task message, keeping the task id it names if any', () => {
    expect(parseMessage('not json')).toEqual({ ok: false });
    expect(parseMessage(JSON.stringify({ v: 1, taskId, name: 'write_log' }))).toEqual({ ok: false, taskId });
    expect(parseMessage(JSON.stringify({ v: 2, taskId, name: 'write_log', run: 0 }))).toEqual({ ok: false, taskId });
    expect(parseMessage(JSON.stringify({ v: 2, taskId: 'nope', name: 'write_log', run: 1 }))).toEqual({ ok: false, taskId: undefined });
    expect(parseMessage('null')).toEqual({ ok: false, taskId: undefined });
  });
});
