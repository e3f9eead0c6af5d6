import { trace, type Tracer } from '@opentelemetry/api';

/** The instrumentation scope of the engine's spans. */
const TRACER_NAME = 'durable-background-tasks';

/**
 * The engine's tracer, looked up on each use: the global provider may be
 * registered after this module loads (the SDK setup runs first in the
 * deployed functions, but a test or an application may register later), and
 * the API's proxy makes the lookup cheap.
 */
export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}
