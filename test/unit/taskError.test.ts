import { describe, expect, it } from 'vitest';
import { briefError, ERROR_MESSAGE_LIMIT, ERROR_TYPE_LIMIT, loggableError, RESULT_LIMIT_BYTES, resultJson, toTaskError } from '../../lib/taskError';

const isWellFormed = (text: string) => (text as unknown as { isWellFormed(): boolean }).isWellFormed();

describe('resultJson', () => {
  it('keeps a result up to 64 KB, exactly at the limit too, and replaces a larger one with a marker', () => {
    expect(JSON.parse(resultJson({ a: 1 }))).toEqual({ a: 1 });
    expect(JSON.parse(resultJson(undefined))).toBeNull();
    // A JSON string of exactly the limit: its two quotes count.
    const exact = 'x'.repeat(RESULT_LIMIT_BYTES - 2);
    expect(JSON.parse(resultJson(exact))).toBe(exact);
    const big = JSON.parse(resultJson('x'.repeat(RESULT_LIMIT_BYTES - 1))) as { truncated: boolean; sizeBytes: number };
    expect(big).toEqual({ truncated: true, reason: `result is ${RESULT_LIMIT_BYTES + 1} bytes; the limit is ${RESULT_LIMIT_BYTES}`, sizeBytes: RESULT_LIMIT_BYTES + 1 });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(JSON.parse(resultJson(circular))).toEqual({ truncated: true, reason: 'not serialisable as JSON' });
  });
});

describe('toTaskError', () => {
  it('keeps type and message of an error, never its stack', () => {
    class PaymentDeclined extends Error {
      override name = 'PaymentDeclined';
    }
    expect(toTaskError(new PaymentDeclined('card expired'))).toEqual({ type: 'PaymentDeclined', message: 'card expired' });
    expect(toTaskError(Object.assign(new Error('m'), { name: '' }))).toEqual({ type: 'Error', message: 'm' });
  });

  it('describes what is not an Error: a string as is, the rest as JSON', () => {
    expect(toTaskError('plain string')).toEqual({ type: 'NonErrorThrown', message: 'plain string' });
    expect(toTaskError(null)).toEqual({ type: 'NonErrorThrown', message: 'null' });
    expect(toTaskError(undefined)).toEqual({ type: 'NonErrorThrown', message: 'undefined' });
    expect(toTaskError({ code: 42 })).toEqual({ type: 'NonErrorThrown', message: '{"code":42}' });
    expect(toTaskError(10n)).toEqual({ type: 'NonErrorThrown', message: '10' });
  });

  it('reads what an Error hides or breaks: an undefined message, a throwing getter, a Proxy', () => {
    expect(toTaskError(Object.assign(new Error('x'), { message: undefined }))).toEqual({ type: 'Error', message: '' });
    const getter = new Error('x');
    Object.defineProperty(getter, 'message', { get: () => { throw new Error('no'); } });
    expect(toTaskError(getter)).toEqual({ type: 'Error', message: '' });
    const hostile = new Proxy(new Error('x'), { getPrototypeOf: () => { throw new Error('trap'); } });
    expect(toTaskError(hostile)).toEqual({ type: 'UnreadableError', message: 'The thrown value could not be read' });
  });

  it('keeps limits exactly at their boundary and cuts beyond, between code points, well-formed', () => {
    expect(toTaskError(new Error('m'.repeat(ERROR_MESSAGE_LIMIT))).message).toBe('m'.repeat(ERROR_MESSAGE_LIMIT));
    expect(toTaskError(new Error('m'.repeat(ERROR_MESSAGE_LIMIT + 1))).message).toBe(`${'m'.repeat(ERROR_MESSAGE_LIMIT)}…`);
    expect(toTaskError(Object.assign(new Error('m'), { name: 'T'.repeat(ERROR_TYPE_LIMIT + 5) })).type).toBe(`${'T'.repeat(ERROR_TYPE_LIMIT)}…`);
    // An emoji is two UTF-16 units: a cut at an odd position would split one.
    const cut = toTaskError(new Error(`a${'\u{1F600}'.repeat(ERROR_MESSAGE_LIMIT)}`)).message;
    expect(cut).toBe(`a${'\u{1F600}'.repeat((ERROR_MESSAGE_LIMIT - 2) / 2)}…`);
    expect(isWellFormed(toTaskError(new Error('lone \ud800 surrogate')).message)).toBe(true);
    expect(toTaskError(new Error('lone \ud800 surrogate')).message).toBe('lone \ufffd surrogate');
  });

  it('shortens an error for the attempt log', () => {
    expect(briefError({ type: 'T'.repeat(150), message: 'm'.repeat(300) })).toEqual({ type: `${'T'.repeat(100)}…`, message: `${'m'.repeat(200)}…` });
  });
});

describe('loggableError', () => {
  it('keeps name, message, stack and two causes deep, each bounded', () => {
    const root = new TypeError('root');
    const middle = new Error('middle', { cause: root });
    const top = Object.assign(new RangeError('x'.repeat(5_000), { cause: middle }), { name: 'n'.repeat(ERROR_TYPE_LIMIT + 5) });
    const deeper = new Error('deeper', { cause: top });

    const logged = loggableError(top);

    expect(logged.name).toBe('n'.repeat(ERROR_TYPE_LIMIT) + '…');
    expect(logged.message).toBe('x'.repeat(ERROR_MESSAGE_LIMIT) + '…');
    // The stack (with its 5,000-character message) is kept to 4,000 characters.
    expect(logged.stack).toBe(top.stack!.slice(0, 4_000) + '…');
    expect(logged.cause).toEqual({ name: 'Error', message: 'middle', stack: middle.stack, cause: { name: 'TypeError', message: 'root', stack: root.stack } });
    // Two causes deep: the third is left out.
    expect(loggableError(deeper).cause!.cause).toEqual({ name: 'Error', message: 'middle', stack: middle.stack });
    expect(loggableError(deeper).cause!.cause!.cause).toBeUndefined();
  });

  it('never throws: a cause that refers back to the error, getters that throw, an empty name, no stack, no message', () => {
    const looped = new Error('looped');
    (looped as { cause?: unknown }).cause = looped;
    const hostile = new Error('hostile');
    Object.defineProperty(hostile, 'stack', { get: () => { throw new Error('no stack'); } });
    Object.defineProperty(hostile, 'message', { get: () => { throw new Error('no message for you'); } });
    Object.defineProperty(hostile, 'name', { get: () => { throw new Error('no name'); } });
    const bare = Object.assign(new Error(), { name: '' });
    delete (bare as { stack?: string }).stack;

    expect(loggableError(looped)).toMatchObject({ name: 'Error', message: 'looped', cause: { message: 'looped', cause: { message: 'looped' } } });
    expect(loggableError(looped).cause!.cause!.cause).toBeUndefined();
    expect(loggableError(hostile)).toEqual({ name: 'Error', message: '' });
    expect(loggableError(bare)).toEqual({ name: 'Error', message: '' });
    expect(loggableError(Object.assign(new Error('m'), { name: 42 })).name).toBe('Error');
  });

  it('describes what is not an Error as text, and a Proxy whose every trap throws as unreadable', () => {
    const traps = new Proxy({}, { getPrototypeOf: () => { throw new Error('trap'); }, get: () => { throw new Error('trap'); } });

    expect(loggableError('plain text')).toEqual({ name: 'NonErrorThrown', message: 'plain text' });
    expect(loggableError({ code: 7 })).toEqual({ name: 'NonErrorThrown', message: '{"code":7}' });
    expect(loggableError(traps)).toEqual({ name: 'UnreadableError', message: 'The thrown value could not be read' });
  });
});
