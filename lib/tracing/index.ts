/**
 * Tracing (OpenTelemetry API only): what the delivery core and the api call.
 * The SDK setup lives in setup/, and is bundled only where tracing is on.
 */
export { startAttemptSpan, type AttemptSpan, type AttemptStart, type AttemptEnd } from './attemptSpan';
export { startEnqueueSpan, type EnqueueSpan } from './enqueueSpan';
export { flushingTraces, flushTraces } from './flush';
export { withIncomingTrace } from './incomingTrace';
export { nameRequestSpan, traceRequest } from './requestSpan';
export { fromStored, storedTraceId, toStored, type StoredTrace } from './storedTrace';
export { traceIdOf, type TraceCarrier } from './traceContext';
