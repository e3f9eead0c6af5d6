import { AsyncLocalStorage } from 'node:async_hooks';
import { context, ROOT_CONTEXT, trace, type Context, type SpanContext } from '@opentelemetry/api';
import { parseTraceparent } from './traceContext';

/**
 * The trace context a request came with (its `traceparent` header), for
 * everything the request enqueues. Kept here as well as in OpenTelemetry's
 * context: without an SDK, OpenTelemetry has no context manager and forgets
 * it, and the task must still join the caller's trace.
 */
// Pure: a bundle that never reads it (the worker's) leaves it out.
const incoming = /* @__PURE__ */ new AsyncLocalStorage<SpanContext>();

/** Header values by lower-cased name, as API Gateway (payload 2.0) and the api's requests hold them. */
type Headers = Record<string, string | undefined> | null | undefined;

/**
 * Runs `fn` as part of the trace named by `headers` (traceparent and
 * tracestate), if they name one: enqueues in it join that trace, and spans
 * it starts are children of the caller's. A malformed traceparent is
 * ignored (the enqueue starts a trace of its own); no header fails a request.
 * Inside a request already joined to a trace, the outer one stands.
 */
export function withIncomingTrace<T>(headers: Headers, fn: () => T): T {
  if (incoming.getStore() !== undefined) return fn();
  const parent = parseTraceparent(header(headers, 'traceparent'), header(headers, 'tracestate'));
  if (!parent) return fn();
  // An SDK's instrumentation may have started a span for this invocation already (itself a child of the caller): it stays the parent.
  const active = trace.getSpanContext(context.active());
  const otelContext = active ? context.active() : trace.setSpanContext(context.active(), parent);
  return incoming.run(parent, () => context.with(otelContext, fn));
}

/**
 * The context an enqueue starts its span in: the active span's if code
 * around it started one (with an SDK), else the request's trace, else none
 * (a new trace).
 */
export function parentContext(): Context | undefined {
  if (trace.getSpanContext(context.active())) return context.active();
  const parent = incoming.getStore();
  return parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : undefined;
}

function header(headers: Headers, name: string): string | undefined {
  if (!headers) return undefined;
  const exact = headers[name];
  if (exact !== undefined) return exact;
  // Events built by hand (a test, another trigger) may keep the sender's case.
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}
