import { parseTraceparent, toCarrier, traceIdOf, type TraceCarrier } from './traceContext';

/**
 * A task's trace context as its definition item stores it: the traceparent's
 * three fields as 25 bytes (trace id 16, span id 8, flags 1), and the
 * tracestate only when there is one. As text it would be 66 bytes with its
 * name; every task carries it, and a definition just under DynamoDB's 1 KB
 * write unit would then cost two units instead of one.
 */
export interface StoredTrace {
  trace?: Uint8Array;
  tracestate?: string;
}

const STORED_BYTES = 25;

/** What a definition stores of a carrier. */
export function toStored(carrier: TraceCarrier): StoredTrace {
  const [, traceId = '', spanId = '', flags = ''] = carrier.traceparent.split('-');
  const trace = Buffer.from(`${traceId}${spanId}${flags}`, 'hex');
  return { trace: new Uint8Array(trace), ...(carrier.tracestate ? { tracestate: carrier.tracestate } : {}) };
}

/** The carrier a definition stores, or undefined when it has none (a task enqueued before tracing) or a corrupt one. */
export function fromStored(item: StoredTrace | undefined): TraceCarrier | undefined {
  const bytes = item?.trace;
  if (!(bytes instanceof Uint8Array) || bytes.length !== STORED_BYTES) return undefined;
  const hex = Buffer.from(bytes).toString('hex');
  const context = parseTraceparent(`00-${hex.slice(0, 32)}-${hex.slice(32, 48)}-${hex.slice(48)}`, item?.tracestate);
  return context && toCarrier(context);
}

/** The trace id a definition stores, as clients see it. */
export function storedTraceId(item: StoredTrace | undefined): string | undefined {
  return traceIdOf(fromStored(item));
}
