import { randomBytes } from 'node:crypto';
import { isSpanContextValid, TraceFlags, type SpanContext, type TraceState } from '@opentelemetry/api';

/**
 * A task's W3C trace context (https://www.w3.org/TR/trace-context/), as its
 * definition item and its messages carry it: the `traceparent` of the span
 * its attempts are children of (the enqueue's), and the caller's
 * `tracestate`, if any. Parsed and written here rather than through the
 * OpenTelemetry propagation API: without an SDK that API's propagator is a
 * no-op, and the task must keep its trace id all the same.
 */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

/** version-traceid-parentid-flags, lower-case hex; a later version may append fields after a dash. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
/** Longer header values are not read: the spec asks vendors to propagate at least 512 characters of tracestate, and a traceparent is 55. */
export const TRACE_HEADER_LIMIT = 512;
/** A tracestate is printable ASCII (list members, commas, optional spaces and tabs). */
const TRACESTATE = /^[\x20-\x7e\t]*$/;

/**
 * The span context a `traceparent` names, or undefined when it is not one a
 * W3C parser accepts (a malformed header starts a new trace, never an error).
 * Version ff is invalid; version 00 has exactly four fields; later versions
 * are read by their first four. A `tracestate` is kept only beside a valid
 * parent, and only when it is within the spec's size and charset.
 */
export function parseTraceparent(traceparent: unknown, tracestate?: unknown): SpanContext | undefined {
  if (typeof traceparent !== 'string' || traceparent.length > TRACE_HEADER_LIMIT) return undefined;
  const match = TRACEPARENT.exec(traceparent.trim());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags, rest] = match as unknown as [string, string, string, string, string, string | undefined];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  const context: SpanContext = { traceId, spanId, traceFlags: parseInt(flags, 16) & TraceFlags.SAMPLED, isRemote: true };
  // All-zero ids are invalid (isSpanContextValid checks both).
  if (!isSpanContextValid(context)) return undefined;
  const state = typeof tracestate === 'string' ? tracestate.trim() : '';
  if (state !== '' && state.length <= TRACE_HEADER_LIMIT && TRACESTATE.test(state)) context.traceState = new ListTraceState(state);
  return context;
}

/** The carrier of a span context: its traceparent (version 00), and its tracestate when it has one. */
export function toCarrier(context: SpanContext): TraceCarrier {
  const flags = (context.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED ? '01' : '00';
  const traceparent = `00-${context.traceId}-${context.spanId}-${flags}`;
  const tracestate = context.traceState?.serialize();
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

/** The span context a stored carrier names, or undefined if it holds none (or a corrupt one). */
export function fromCarrier(carrier: Partial<TraceCarrier> | undefined): SpanContext | undefined {
  return carrier?.traceparent === undefined ? undefined : parseTraceparent(carrier.traceparent, carrier.tracestate);
}

/** The trace id of a stored carrier, as clients see it (32 hex digits), or undefined. */
export function traceIdOf(carrier: Partial<TraceCarrier> | undefined): string | undefined {
  return fromCarrier(carrier)?.traceId;
}

/**
 * A new trace, for an enqueue with no trace around it and no SDK to start one:
 * random ids (the W3C "random" trace id), sampled, so that a worker that does
 * export spans records the task's attempts.
 */
export function newRootContext(): SpanContext {
  const bytes = randomBytes(24);
  return { traceId: bytes.subarray(0, 16).toString('hex'), spanId: bytes.subarray(16).toString('hex'), traceFlags: TraceFlags.SAMPLED, isRemote: true };
}

/** tracestate keeps at most this many list members (the spec's limit). */
const TRACESTATE_MEMBERS = 32;

/**
 * A tracestate as the header lists it: `key=value` members, newest first.
 * Passed on as it came (the engine reads no vendor's entry); an SDK that sets
 * an entry moves it to the front, as the spec asks. Smaller than the API's
 * own implementation, which every function would otherwise carry.
 */
class ListTraceState implements TraceState {
  private readonly members: string[];

  constructor(header: string | string[]) {
    const members = typeof header === 'string' ? header.split(',').map((m) => m.trim()) : header;
    this.members = members.filter((m) => m.indexOf('=') > 0).slice(0, TRACESTATE_MEMBERS);
  }

  get(key: string): string | undefined {
    const member = this.members.find((m) => m.slice(0, m.indexOf('=')) === key);
    return member?.slice(member.indexOf('=') + 1);
  }

  set(key: string, value: string): TraceState {
    return new ListTraceState([`${key}=${value}`, ...this.without(key)]);
  }

  unset(key: string): TraceState {
    return new ListTraceState(this.without(key));
  }

  serialize(): string {
    return this.members.join(',');
  }

  private without(key: string): string[] {
    return this.members.filter((m) => m.slice(0, m.indexOf('=')) !== key);
  }
}
