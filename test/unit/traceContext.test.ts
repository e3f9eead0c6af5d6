import { TraceFlags } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { fromCarrier, newRootContext, parseTraceparent, toCarrier, traceIdOf, TRACE_HEADER_LIMIT } from '../../lib/tracing/traceContext';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const HEADER = `00-${TRACE}-${SPAN}-01`;

describe('parseTraceparent (W3C trace context)', () => {
  it('reads a version 00 header: its trace, its parent span, and whether it was sampled', () => {
    expect(parseTraceparent(HEADER)).toEqual({ traceId: TRACE, spanId: SPAN, traceFlags: TraceFlags.SAMPLED, isRemote: true });
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-00`)).toMatchObject({ traceFlags: TraceFlags.NONE });
    // Flags other than sampled are reserved: dropped.
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-ff`)).toMatchObject({ traceFlags: TraceFlags.SAMPLED });
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-02`)).toMatchObject({ traceFlags: TraceFlags.NONE });
    expect(parseTraceparent(` ${HEADER} `)).toMatchObject({ traceId: TRACE });
  });

  it('reads a later version by its first four fields, and more after them, up to 512 characters', () => {
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-01`)).toMatchObject({ traceId: TRACE, spanId: SPAN });
    expect(parseTraceparent(`cc-${TRACE}-${SPAN}-01-what-comes-next`)).toMatchObject({ traceId: TRACE, spanId: SPAN });
    const longest = `01-${TRACE}-${SPAN}-01-`.padEnd(TRACE_HEADER_LIMIT, 'x');
    expect(parseTraceparent(longest)).toMatchObject({ traceId: TRACE });
    expect(parseTraceparent(`${longest}x`)).toBeUndefined();
  });

  it.each([
    ['not a string', 42],
    ['absent', undefined],
    ['empty', ''],
    ['garbage', 'hello'],
    ['upper-case hex', HEADER.toUpperCase()],
    ['version ff', `ff-${TRACE}-${SPAN}-01`],
    ['version 00 with a fifth field', `${HEADER}-x`],
    ['a short trace id', `00-${TRACE.slice(1)}-${SPAN}-01`],
    ['a long span id', `00-${TRACE}-${SPAN}0-01`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`],
    ['an all-zero span id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['a one-digit version', `0-${TRACE}-${SPAN}-01`],
    ['a one-digit flags field', `00-${TRACE}-${SPAN}-1`],
    ['two headers joined', `${HEADER},${HEADER}`],
    ['over the length read', `01-${TRACE}-${SPAN}-01-${'x'.repeat(TRACE_HEADER_LIMIT)}`],
  ])('refuses %s', (_label, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });

  it('keeps a tracestate beside a valid parent only, within 512 printable characters and 32 members', () => {
    expect(parseTraceparent(HEADER, 'a=1,b=2')?.traceState?.serialize()).toBe('a=1,b=2');
    expect(parseTraceparent(HEADER, ' a=1 , ,b=2 ')?.traceState?.serialize()).toBe('a=1,b=2');
    expect(parseTraceparent('garbage', 'a=1')).toBeUndefined();
    expect(parseTraceparent(HEADER, '')?.traceState).toBeUndefined();
    expect(parseTraceparent(HEADER, 'a=\u0001')?.traceState).toBeUndefined();
    expect(parseTraceparent(HEADER, `a=${'x'.repeat(TRACE_HEADER_LIMIT - 2)}`)?.traceState?.serialize()).toHaveLength(TRACE_HEADER_LIMIT);
    expect(parseTraceparent(HEADER, `a=${'x'.repeat(TRACE_HEADER_LIMIT - 1)}`)?.traceState).toBeUndefined();
    expect(parseTraceparent(HEADER, 42)?.traceState).toBeUndefined();
    const many = Array.from({ length: 40 }, (_, i) => `k${i}=v`).join(',');
    expect(parseTraceparent(HEADER, many)?.traceState?.serialize().split(',')).toHaveLength(32);
    // A member without a key is not one.
    expect(parseTraceparent(HEADER, '=1,a=2,b')?.traceState?.serialize()).toBe('a=2');
  });

  it('gives a tracestate an SDK can read and change: a set entry moves to the front', () => {
    const state = parseTraceparent(HEADER, 'a=1,b=2,c=3')!.traceState!;
    expect([state.get('b'), state.get('z')]).toEqual(['2', undefined]);
    expect(state.set('b', '9').serialize()).toBe('b=9,a=1,c=3');
    expect(state.set('d', '4').serialize()).toBe('d=4,a=1,b=2,c=3');
    expect(state.unset('a').serialize()).toBe('b=2,c=3');
    expect(state.serialize()).toBe('a=1,b=2,c=3');
    expect(parseTraceparent(HEADER, 'a=x=y')!.traceState!.get('a')).toBe('x=y');
  });
});

describe('the stored carrier', () => {
  it('is a version 00 traceparent, with the tracestate when there is one', () => {
    expect(toCarrier({ traceId: TRACE, spanId: SPAN, traceFlags: TraceFlags.SAMPLED })).toEqual({ traceparent: HEADER });
    expect(toCarrier({ traceId: TRACE, spanId: SPAN, traceFlags: TraceFlags.NONE })).toEqual({ traceparent: `00-${TRACE}-${SPAN}-00` });
    expect(toCarrier(parseTraceparent(`01-${TRACE}-${SPAN}-03-more`, 'v=1')!)).toEqual({ traceparent: HEADER, tracestate: 'v=1' });
  });

  it('reads back the context it was made from, and its trace id', () => {
    expect(fromCarrier({ traceparent: HEADER, tracestate: 'v=1' })).toMatchObject({ traceId: TRACE, spanId: SPAN });
    expect(fromCarrier({ traceparent: 'corrupt' })).toBeUndefined();
    expect(fromCarrier({})).toBeUndefined();
    expect(fromCarrier(undefined)).toBeUndefined();
    expect(traceIdOf({ traceparent: HEADER })).toBe(TRACE);
    expect(traceIdOf({ tracestate: 'v=1' })).toBeUndefined();
  });

  it('starts new traces with random ids, sampled', () => {
    const a = newRootContext();
    const b = newRootContext();
    expect(toCarrier(a).traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(a.traceId).not.toBe(b.traceId);
    expect(a.spanId).not.toBe(b.spanId);
    expect(parseTraceparent(toCarrier(a).traceparent)).toEqual(a);
  });
});
