import { describe, expect, it } from 'vitest';
import { fromStored, storedTraceId, toStored } from '../../lib/tracing/storedTrace';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('the trace context in a task’s definition', () => {
  it('is 25 bytes: trace id, span id, flags; and the tracestate only when there is one', () => {
    const stored = toStored({ traceparent: TRACEPARENT });
    expect(Buffer.from(stored.trace!).toString('hex')).toBe('4bf92f3577b34da6a3ce929d0e0e473600f067aa0ba902b701');
    expect(stored).toEqual({ trace: expect.any(Uint8Array) });
    expect(toStored({ traceparent: TRACEPARENT, tracestate: 'v=1' }).tracestate).toBe('v=1');
  });

  it('reads back as the carrier it was made from', () => {
    expect(fromStored(toStored({ traceparent: TRACEPARENT, tracestate: 'v=1' }))).toEqual({ traceparent: TRACEPARENT, tracestate: 'v=1' });
    const unsampled = TRACEPARENT.replace(/01$/, '00');
    expect(fromStored(toStored({ traceparent: unsampled }))).toEqual({ traceparent: unsampled });
    expect(storedTraceId(toStored({ traceparent: TRACEPARENT }))).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });

  it('is none when absent or corrupt: a definition from before tracing, a wrong length, zero ids, not bytes', () => {
    const bytes = toStored({ traceparent: TRACEPARENT }).trace!;
    expect(fromStored(undefined)).toBeUndefined();
    expect(fromStored({})).toBeUndefined();
    expect(fromStored({ tracestate: 'v=1' })).toBeUndefined();
    expect(fromStored({ trace: bytes.subarray(0, 24) })).toBeUndefined();
    expect(fromStored({ trace: new Uint8Array([...bytes, 0]) })).toBeUndefined();
    expect(fromStored({ trace: new Uint8Array(25) })).toBeUndefined();
    expect(fromStored({ trace: TRACEPARENT as unknown as Uint8Array })).toBeUndefined();
    expect(storedTraceId({ trace: new Uint8Array(25) })).toBeUndefined();
  });
});
