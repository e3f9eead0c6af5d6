import * as z from './zod';
import type { $ZodError } from 'zod/v4/core';
import { getDefaultEngine, type Engine } from './engine';
import { IdempotencyConflictError, PayloadTooLargeError, TaskQueueError, UnknownTaskError, ValidationError } from './errors';
import { byteLength, sha256, stableStringify } from './json';
import { newTaskId } from './keys';
import { getTask, TASK_LIMITS, type PayloadOf, type TaskDefinition } from './task';
import { PRIORITIES, type Priority, type TaskRecord } from './types';

export interface EnqueueOptions {
  /** Deliver no sooner than this many seconds from now (at most 900, SQS's cap). */
  delaySeconds?: number;
  /** Same key and same request: the same task. Same key, another request: IdempotencyConflictError. */
  idempotencyKey?: string;
  priority?: Priority;
  maxAttempts?: number;
}

/** The outcome of one enqueue: `created` is false when an idempotency key returned an existing task. */
export interface EnqueuedTask {
  taskId: string;
  record: TaskRecord;
  created: boolean;
}

/** The options that shape a task, as schema fields: `POST /tasks` takes the same ones in its body. */
export const ENQUEUE_OPTION_FIELDS = {
  delaySeconds: z.optional(z.int().check(z.minimum(0), z.maximum(TASK_LIMITS.maxDelaySeconds))),
  priority: z.optional(z.enum(PRIORITIES as [Priority, ...Priority[]])),
  maxAttempts: z.optional(z.int().check(z.minimum(1), z.maximum(TASK_LIMITS.maxAttempts))),
};

const OptionsSchema = z.strictObject({
  ...ENQUEUE_OPTION_FIELDS,
  idempotencyKey: z.optional(z.string().check(z.minLength(1), z.maxLength(255), z.regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces'))),
});

/** A request checked against its task: what enqueue writes. */
interface PreparedTask {
  record: TaskRecord;
  requestHash: string;
  idempotencyKey?: string;
}

/**
 * Enqueues a task durably: a PENDING record in DynamoDB and a message in SQS.
 * Resolves once both are written; rejects with a typed error otherwise, having
 * left nothing that will run (see `writeTask` for how).
 */
export async function enqueue<T extends TaskDefinition>(
  task: T,
  payload: PayloadOf<T>,
  options: EnqueueOptions = {},
  engine: Engine = getDefaultEngine(),
): Promise<EnqueuedTask> {
  return enqueueByName(engine, task.name, payload, options);
}

/** Enqueue by task name, for callers that only have data (the HTTP API). */
export async function enqueueByName(engine: Engine, name: string, payload: unknown, options: EnqueueOptions = {}): Promise<EnqueuedTask> {
  const enqueued = await enqueueOne(engine, name, payload, options);
  if (enqueued.created) {
    engine.metrics?.enqueued(name);
    engine.metrics?.flush();
  }
  return enqueued;
}

async function enqueueOne(engine: Engine, name: string, payload: unknown, options: EnqueueOptions): Promise<EnqueuedTask> {
  const prepared = prepareTask(engine, name, payload, options);
  const key = prepared.idempotencyKey;
  if (key === undefined) return writeTask(engine, prepared);

  // The marker is written first and alone: it decides which request owns the
  // key. A later request with the same key and body gets the same task; if
  // that task's write was compensated away, it is written again under its id.
  const expiresAt = prepared.record.expiresAt;
  const existing = await engine.store.putIdempotencyMarker(key, { taskId: prepared.record.taskId, requestHash: prepared.requestHash }, expiresAt);
  if (!existing) return writeTask(engine, prepared);
  if (existing.requestHash !== prepared.requestHash) throw new IdempotencyConflictError(key);
  const record = await engine.store.get(existing.taskId);
  if (record) return { taskId: record.taskId, record, created: false };
  return writeTask(engine, { ...prepared, record: { ...prepared.record, taskId: existing.taskId } });
}

/** One item's outcome in enqueueMany: the task, or the error that kept it out. */
export type EnqueueManyResult = { ok: true; task: EnqueuedTask } | { ok: false; error: TaskQueueError };

export interface EnqueueManyItem {
  name: string;
  payload: unknown;
  options?: Omit<EnqueueOptions, 'idempotencyKey'>;
  /** A fresh id from newTaskId(), when the caller must know it before the write. */
  taskId?: string;
}

/**
 * Enqueues many tasks with as few requests as SQS allows (ten per
 * SendMessageBatch); records and messages are written in parallel, and each
 * item fails or succeeds on its own.
 */
export async function enqueueMany(engine: Engine, items: EnqueueManyItem[]): Promise<EnqueueManyResult[]> {
  const prepared: Array<PreparedTask | TaskQueueError> = items.map((item) => {
    try {
      return prepareTask(engine, item.name, item.payload, item.options ?? {}, item.taskId);
    } catch (error) {
      if (error instanceof TaskQueueError) return error;
      throw error;
    }
  });
  const valid = prepared.filter((p): p is PreparedTask => !(p instanceof TaskQueueError));
  const [writeFailures, sendFailures] = await Promise.all([
    engine.store.createMany(valid.map((p) => p.record)),
    engine.queue.sendMany(valid.map(toOutgoing)),
  ]);
  // Record written but no message: remove the record so nothing waits for ever.
  // Message sent but no record: the worker never runs a task without one.
  await Promise.all(
    valid
      .filter((p) => sendFailures.has(p.record.taskId) && !writeFailures.has(p.record.taskId))
      .map((p) => compensate(engine, p.record.taskId)),
  );
  const results = prepared.map((p): EnqueueManyResult => {
    if (p instanceof TaskQueueError) return { ok: false, error: p };
    const id = p.record.taskId;
    if (writeFailures.has(id)) return { ok: false, error: writeFailures.get(id)! };
    const sendError = sendFailures.get(id);
    if (sendError) return { ok: false, error: sendError };
    return { ok: true, task: { taskId: id, record: p.record, created: true } };
  });
  countEnqueued(engine, results);
  return results;
}

/** One EMF flush per call: a request enqueues once (one task, a batch, or its background tasks). */
function countEnqueued(engine: Engine, results: EnqueueManyResult[]): void {
  if (!engine.metrics) return;
  for (const r of results) if (r.ok) engine.metrics.enqueued(r.task.record.name);
  engine.metrics.flush();
}

/**
 * Writes the record and sends the message at the same time, so an enqueue
 * costs one round trip, not two. Consistency comes from two rules instead of
 * an order: the worker never runs a message whose record does not exist (it
 * goes to the DLQ, whose consumer drops it), and a record whose message could
 * not be sent is deleted before we answer. So a rejection means no task will
 * run; with an idempotency key, a retry re-creates the same task id.
 * (A record is left PENDING only if DynamoDB also fails that delete; it is
 * logged with its id.)
 */
async function writeTask(engine: Engine, prepared: PreparedTask): Promise<EnqueuedTask> {
  const { record } = prepared;
  const [written, sent] = await Promise.allSettled([engine.store.create(record), engine.queue.send(toOutgoing(prepared))]);
  if (written.status === 'fulfilled' && sent.status === 'fulfilled') {
    if (written.value) return { taskId: record.taskId, record, created: true };
    // Another request with the same idempotency key wrote it first.
    const existing = await engine.store.get(record.taskId);
    if (existing) return { taskId: record.taskId, record: existing, created: false };
  }
  if (written.status === 'fulfilled' && written.value && sent.status === 'rejected') {
    await compensate(engine, record.taskId);
  }
  throw written.status === 'rejected' ? written.reason : sent.status === 'rejected' ? sent.reason : new Error('unreachable');
}

async function compensate(engine: Engine, taskId: string): Promise<void> {
  try {
    await engine.store.deleteUnstarted(taskId);
  } catch (error) {
    engine.logger.error('Enqueue compensation failed: record left PENDING without a message', { taskId, error });
  }
}

function toOutgoing(p: PreparedTask) {
  return {
    message: { v: 1 as const, taskId: p.record.taskId, name: p.record.name },
    priority: p.record.priority,
    delaySeconds: p.record.delaySeconds,
  };
}

/** Checks a request against its task; throws the ValidationError a caller should see. */
export function validatePayload(task: TaskDefinition, payload: unknown): void {
  const parsed = z.safeParse(task.payload, payload);
  if (!parsed.success) throw new ValidationError(`Payload does not match the schema of task "${task.name}"`, issuesOf(parsed.error));
}

function prepareTask(engine: Engine, name: string, payload: unknown, rawOptions: EnqueueOptions, taskId = newTaskId()): PreparedTask {
  const task = getTask(name);
  if (!task) throw new UnknownTaskError(name);
  const parsedOptions = OptionsSchema.safeParse(rawOptions);
  if (!parsedOptions.success) throw new ValidationError('Invalid enqueue options', issuesOf(parsedOptions.error));
  const options = parsedOptions.data;
  const payloadJson = JSON.stringify(payload ?? null);
  const size = byteLength(payloadJson);
  if (size > TASK_LIMITS.maxPayloadBytes) throw new PayloadTooLargeError(size, TASK_LIMITS.maxPayloadBytes);
  validatePayload(task, payload);

  const now = engine.now();
  const priority = options.priority ?? task.priority;
  const maxAttempts = options.maxAttempts ?? task.maxAttempts;
  const delaySeconds = options.delaySeconds;
  const record: TaskRecord = {
    taskId,
    name,
    // The input is stored, not the parsed output: the worker parses it again,
    // so schemas with transforms see the same input on every attempt.
    payload: payload ?? null,
    status: 'PENDING',
    priority,
    attempts: 0,
    maxAttempts,
    timeoutSeconds: task.timeoutSeconds,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    attemptLog: [],
    ...(delaySeconds ? { delaySeconds } : {}),
    ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
    expiresAt: Math.floor(now.getTime() / 1000) + engine.config.retentionDays * 86_400,
  };
  const requestHash = sha256(stableStringify({ name, payload: payload ?? null, priority, maxAttempts, delaySeconds: delaySeconds ?? 0 }));
  return { record, requestHash, idempotencyKey: options.idempotencyKey };
}

/** zod issues as a client can read them: where, and what is wrong. */
export function issuesOf(error: $ZodError): Array<{ path: string; message: string }> {
  return error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}
