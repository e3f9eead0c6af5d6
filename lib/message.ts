import * as z from './zod';
import { isTaskId } from './keys';
import { fromStored, type StoredTrace } from './tracing/storedTrace';
import type { Priority } from './types';

/**
 * The SQS message of a task: which task, and which run of it. The record in
 * DynamoDB carries everything else, so a message never goes stale in content,
 * only in run: a message of an earlier run is acknowledged and dropped.
 * The one place that builds and reads the body (enqueue, retry, the recovery
 * sweep, the worker and the DLQ consumer all go through here).
 */
export interface TaskMessage {
  v: 2;
  taskId: string;
  name: string;
  run: number;
  /** How many times the dead-letter queue's consumer has sent this run back (absent: never). */
  redrive?: number;
  /** The task's W3C trace context (lib/tracing), as its definition holds it; absent in messages sent before tracing. */
  traceparent?: string;
  tracestate?: string;
  /** How many times the task waited for a concurrency slot (lib/control): each wait is longer. */
  waits?: number;
  /** The rate limit token this message holds (lib/control): when it is due, epoch ms. */
  tokenAt?: number;
}

const MessageSchema = z.object({
  v: z.literal(2),
  taskId: z.string().check(z.refine(isTaskId)),
  name: z.string().check(z.minLength(1), z.maxLength(128)),
  run: z.int().check(z.minimum(1)),
  redrive: z.optional(z.int().check(z.minimum(1))),
  // Read as plain text, checked where used: a bad trace context must never make a message unreadable.
  traceparent: z.optional(z.string()),
  tracestate: z.optional(z.string()),
  waits: z.optional(z.int().check(z.minimum(1))),
  tokenAt: z.optional(z.int().check(z.minimum(0))),
});

/** A message ready to send: its body, its queue, and how long SQS holds it back. */
export interface OutgoingMessage {
  message: TaskMessage;
  priority: Priority;
  delaySeconds?: number;
}

/** The message for one run of a task; it carries the task's trace context when the caller has it (the definition). */
export function toMessage(task: { taskId: string; name: string; priority: Priority } & StoredTrace, run: number, delaySeconds?: number, redrive?: number): OutgoingMessage {
  const trace = fromStored(task) ?? {};
  return {
    message: { v: 2, taskId: task.taskId, name: task.name, run, ...(redrive ? { redrive } : {}), ...trace },
    priority: task.priority,
    ...(delaySeconds ? { delaySeconds } : {}),
  };
}

export function messageBody(message: TaskMessage): string {
  return JSON.stringify(message);
}

/** The message in a body, or, if it is not one, the task id it names (when it names one). */
export type ParsedMessage = { ok: true; message: TaskMessage } | { ok: false; taskId?: string };

export function parseMessage(body: string): ParsedMessage {
  let json: unknown;
  try {
    json = JSON.parse(body);
    // Stryker disable next-line BlockStatement: without it, undefined fails the schema and names no task: the same answer
  } catch {
    return { ok: false };
  }
  const parsed = MessageSchema.safeParse(json);
  if (parsed.success) return { ok: true, message: parsed.data as TaskMessage };
  const taskId = (json as { taskId?: unknown } | null)?.taskId;
  return { ok: false, taskId: typeof taskId === 'string' && isTaskId(taskId) ? taskId : undefined };
}
