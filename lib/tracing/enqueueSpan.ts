import { context, isSpanContextValid, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { queueNameOf } from '../queue';
import { toTaskError } from '../taskError';
import { ERROR_TYPE, MESSAGING_DESTINATION, MESSAGING_OPERATION_NAME, MESSAGING_OPERATION_TYPE, MESSAGING_SYSTEM, TASK_CREATED, TASK_ID, TASK_NAME, TASK_PRIORITY, SQS_SYSTEM } from './attributes';
import { parentContext } from './incomingTrace';
import { newRootContext, toCarrier, type TraceCarrier } from './traceContext';
import { tracer } from './tracer';

/** The enqueue of one task, as a span: every attempt of the task is its child. */
export interface EnqueueSpan {
  /** What the task records and its messages carry: the context its attempts join. */
  readonly carrier: TraceCarrier;
  /** Runs the enqueue's writes in the span (so instrumented calls nest under it), and ends it with their outcome. */
  during<T extends { taskId: string; created: boolean }>(fn: () => Promise<T>): Promise<T>;
  /** Ends the span with one task's outcome (enqueueMany, which writes many tasks at once). */
  end(outcome: { ok: true; taskId: string; created: boolean } | { ok: false; error: unknown }): void;
}

/**
 * Starts the span of an enqueue (`send <task name>`, a messaging producer)
 * as a child of the trace around it (the caller's active span, or the
 * request's traceparent), or as the root of a new trace. Without an SDK the
 * span records nothing, but the task still gets a trace context: the
 * caller's, or a new one, so its record shows a trace id all the same.
 */
export function startEnqueueSpan(task: { taskId: string; name: string; priority: string }, queueUrl: string | undefined): EnqueueSpan {
  const parent = parentContext() ?? context.active();
  const span = tracer().startSpan(
    `send ${task.name}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        [MESSAGING_SYSTEM]: SQS_SYSTEM,
        [MESSAGING_OPERATION_TYPE]: 'send',
        [MESSAGING_OPERATION_NAME]: 'send',
        ...(queueUrl ? { [MESSAGING_DESTINATION]: queueNameOf(queueUrl) } : {}),
        [TASK_ID]: task.taskId,
        [TASK_NAME]: task.name,
        [TASK_PRIORITY]: task.priority,
      },
    },
    parent,
  );
  // An SDK's span (recorded or sampled out) has a context of its own; the no-op API's span has its parent's, or none.
  const own = span.spanContext();
  const carrier = toCarrier(isSpanContextValid(own) ? own : newRootContext());
  return {
    carrier,
    during: async (fn) => {
      try {
        const result = await context.with(trace.setSpan(parent, span), fn);
        finish(span, { ok: true, taskId: result.taskId, created: result.created });
        return result;
      } catch (error) {
        finish(span, { ok: false, error });
        throw error;
      }
    },
    end: (outcome) => finish(span, outcome),
  };
}

function finish(span: Span, outcome: { ok: true; taskId: string; created: boolean } | { ok: false; error: unknown }): void {
  if (outcome.ok) {
    // An Idempotency-Key may have answered with the task an earlier request made.
    span.setAttributes({ [TASK_ID]: outcome.taskId, [TASK_CREATED]: outcome.created });
  } else {
    const error = toTaskError(outcome.error);
    span.setAttribute(ERROR_TYPE, codeOf(outcome.error) ?? error.type);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  }
  span.end();
}

/** The engine's own errors carry a stable code (service_unavailable, ...): the better error.type. */
function codeOf(error: unknown): string | undefined {
  try {
    const code = (error as { code?: unknown } | null)?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

/** The queue's name, the last segment of its URL: what messaging.destination.name holds for SQS. */

