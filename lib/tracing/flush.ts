import { trace } from '@opentelemetry/api';

/** The longest a function waits for its spans to be sent before it returns. */
const FLUSH_LIMIT_MS = 1_000;

/**
 * Waits until the spans ended so far are exported, as long as FLUSH_LIMIT_MS:
 * a Lambda's environment may freeze as soon as its handler returns, and
 * spans still in flight would go out only at its next invocation, if ever.
 * Without an SDK, or with one that has nothing pending, it returns at once.
 * Never throws: tracing never fails an invocation.
 */
export async function flushTraces(): Promise<void> {
  const global = trace.getTracerProvider() as { getDelegate?: () => unknown };
  const provider = (global.getDelegate?.() ?? global) as { forceFlush?: () => Promise<void> };
  if (typeof provider.forceFlush !== 'function') return;
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, FLUSH_LIMIT_MS)));
  try {
    await Promise.race([provider.forceFlush().catch(() => undefined), limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** A Lambda handler that flushes its spans before it returns (or throws). */
export function flushingTraces<A extends unknown[], R>(handler: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await handler(...args);
    } finally {
      await flushTraces();
    }
  };
}
