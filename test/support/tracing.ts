import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** A W3C traceparent, as a caller sends it: its trace, its span, sampled. */
export const CALLER = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
export const CALLER_TRACEPARENT = `00-${CALLER.traceId}-${CALLER.spanId}-01`;

export interface SpanRecorder {
  /** Every span ended so far, in the order they ended. */
  spans(): ReadableSpan[];
  /** The spans of one trace. */
  trace(traceId: string): ReadableSpan[];
  reset(): void;
  /** Unregisters the SDK: the API is a no-op again. */
  stop(): Promise<void>;
}

/**
 * The OpenTelemetry SDK as an application (or lib/tracing/setup) registers
 * it, exporting to memory: a tracer provider, the AsyncLocalStorage context
 * manager, and an in-memory exporter behind a SimpleSpanProcessor.
 */
export function recordSpans(): SpanRecorder {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  return {
    spans: () => exporter.getFinishedSpans(),
    trace: (traceId) => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId),
    reset: () => exporter.reset(),
    stop: async () => {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** The one span named `name` in `spans` (fails the test's expectation with the names there otherwise). */
export function spanNamed(spans: ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((s) => s.name === name);
  if (found.length !== 1) throw new Error(`expected one span "${name}", found ${found.length} among: ${spans.map((s) => s.name).join(', ')}`);
  return found[0]!;
}

export const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;
