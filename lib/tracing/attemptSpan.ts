import { context, isSpanContextValid, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Link, type Span } from '@opentelemetry/api';
import { queueNameOfArn } from '../queue';
import type { AttemptRecord, TaskError } from '../types';
import { ERROR_TYPE, MESSAGING_DESTINATION, MESSAGING_MESSAGE_ID, MESSAGING_OPERATION_NAME, MESSAGING_OPERATION_TYPE, MESSAGING_SYSTEM, TASK_ATTEMPT, TASK_ID, TASK_MAX_ATTEMPTS, TASK_NAME, TASK_OUTCOME, TASK_QUEUE_WAIT_MS, TASK_RUN, TASK_STATUS, SQS_SYSTEM } from './attributes';
import { fromCarrier, type TraceCarrier } from './traceContext';
import { tracer } from './tracer';

/** What the worker knows of an attempt when it starts. */
export interface AttemptStart {
  taskId: string;
  name: string;
  run: number;
  attempt: number;
  maxAttempts: number;
  /** The task's trace context as its definition item holds it (what GET /tasks/{id} shows), and as its message carries it. */
  trace: { definition?: Partial<TraceCarrier>; message?: Partial<TraceCarrier> };
  /** The SQS message that brought it, and the ARN of its queue. */
  messageId: string;
  queueArn: string;
  /** The attempts before this one, as the task's state keeps them: the last one's span is linked. */
  attemptLog?: readonly AttemptRecord[];
  queueWaitMs?: number;
}

/** How an attempt ended, as the worker records it. */
export interface AttemptEnd {
  outcome: AttemptRecord['outcome'];
  /** What the attempt made of the task: SUCCEEDED, RETRYING (another attempt follows), FAILED, or CANCELLED (a client's cancel stopped it). */
  status: 'SUCCEEDED' | 'RETRYING' | 'FAILED' | 'CANCELLED';
  error?: TaskError;
}

export interface AttemptSpan {
  /** The trace the attempt is part of, for its log lines (absent only for a task enqueued before tracing, with no SDK). */
  readonly traceId?: string;
  /** What the attempt's log entry keeps of the span: its id, when an SDK records it (nothing otherwise: no bytes). */
  readonly logFields: { spanId?: string };
  /** Runs the task's handler with the attempt's span active, so that the task's own spans nest under it. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  end(end: AttemptEnd): void;
}

/**
 * Starts the span of one attempt (`process <task name>`, a messaging
 * consumer): a child of the task's enqueue span, carried in its definition
 * and message, so every attempt of every run is in the trace of the request
 * that enqueued it, and linked to the attempt before it (its span id is kept
 * in the attempt log, which the attempt's outcome writes anyway).
 */
export function startAttemptSpan(start: AttemptStart): AttemptSpan {
  // The definition is the record's truth; the message is read only for a definition without one.
  const parentSpan = fromCarrier(start.trace.definition) ?? fromCarrier(start.trace.message);
  const parent = parentSpan ? trace.setSpanContext(ROOT_CONTEXT, parentSpan) : ROOT_CONTEXT;
  const previous = parentSpan && [...(start.attemptLog ?? [])].reverse().find((a) => a.spanId !== undefined);
  const links: Link[] =
    parentSpan && previous?.spanId
      ? [{ context: { traceId: parentSpan.traceId, spanId: previous.spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true }, attributes: { [TASK_ATTEMPT]: previous.attempt, [TASK_RUN]: previous.run } }]
      : [];
  const span = tracer().startSpan(
    `process ${start.name}`,
    {
      kind: SpanKind.CONSUMER,
      links,
      attributes: {
        [MESSAGING_SYSTEM]: SQS_SYSTEM,
        [MESSAGING_OPERATION_TYPE]: 'process',
        [MESSAGING_OPERATION_NAME]: 'process',
        [MESSAGING_DESTINATION]: queueNameOfArn(start.queueArn),
        [MESSAGING_MESSAGE_ID]: start.messageId,
        [TASK_ID]: start.taskId,
        [TASK_NAME]: start.name,
        [TASK_RUN]: start.run,
        [TASK_ATTEMPT]: start.attempt,
        [TASK_MAX_ATTEMPTS]: start.maxAttempts,
        ...(start.queueWaitMs === undefined ? {} : { [TASK_QUEUE_WAIT_MS]: start.queueWaitMs }),
      },
    },
    parent,
  );
  const own = span.spanContext();
  return {
    traceId: isSpanContextValid(own) ? own.traceId : parentSpan?.traceId,
    logFields: span.isRecording() ? { spanId: span.spanContext().spanId } : {},
    run: (fn) => context.with(trace.setSpan(parent, span), fn),
    end: (end) => finish(span, end),
  };
}

function finish(span: Span, end: AttemptEnd): void {
  span.setAttributes({ [TASK_OUTCOME]: end.outcome, [TASK_STATUS]: end.status });
  if (end.error) {
    // The recorded error (bounded, read safely from whatever was thrown), never the thrown value itself.
    span.setAttribute(ERROR_TYPE, end.error.type);
    span.recordException({ name: end.error.type, message: end.error.message });
    span.setStatus({ code: SpanStatusCode.ERROR, message: end.error.message });
  }
  span.end();
}
