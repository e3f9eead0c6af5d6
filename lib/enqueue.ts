import type { $ZodError } from 'zod/v4/core';
import { stopUnstarted } from './compensation';
import { getDefaultEngine, type Engine } from './engine';
import { PayloadTooLargeError, TaskQueueError, UnknownTaskError, ValidationError } from './errors';
import { enqueueWithKey } from './idempotency';
import { newTaskId } from './keys';
import { toMessage } from './message';
import { requestHash } from './requestHash';
import { newTaskItems, toRecord, type NewTask } from './store/items';
import { getTask, TASK_LIMITS, type PayloadOf, type TaskDefinition } from './task';
import { byteLength } from './text';
import { PRIORITIES, type Priority, type TaskRecord } from './types';
import * as z from './zod';

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
export interface PreparedTask {
  task: NewTask;
  payloadJson: string;
  payloadBytes: number;
  requestHash: string;
}

/**
 * Enqueues a task durably: its record in DynamoDB and a message in SQS.
 * Resolves once both are written; rejects with a typed error otherwise,
 * having left nothing that will run (see `compensation.ts`).
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
  const prepared = prepareTask(engine, name, payload, options);
  const key = options.idempotencyKey;
  const enqueued = key === undefined ? await enqueueNew(engine, prepared) : await enqueueWithKey(engine, prepared, key);
  if (enqueued.created) {
    engine.metrics?.enqueued(name);
    engine.metrics?.flush();
  }
  return enqueued;
}

/**
 * Writes the record and sends the message at the same time, so an enqueue
 * costs one round trip, not two. If either fails, or answers ambiguously, the
 * task is stopped unless a worker already claimed it: a rejection means
 * nothing will run, and a worker's claim means the answer is 202.
 */
async function enqueueNew(engine: Engine, prepared: PreparedTask): Promise<EnqueuedTask> {
  const { task } = prepared;
  const [written, sent] = await Promise.allSettled([
    engine.store.create(newTaskItems(task, prepared.payloadJson, prepared.payloadBytes)),
    engine.queue.send(toMessage(task, 1, task.delaySeconds)),
  ]);
  const failure = [written, sent].find((r) => r.status === 'rejected');
  if (!failure) return { taskId: task.taskId, record: newRecord(prepared), created: true };
  const resolution = await stopUnstarted(engine, task, 1, failure.reason);
  if (resolution.outcome === 'started') {
    const { status, run, attempts } = resolution.state;
    return { taskId: task.taskId, record: { ...newRecord(prepared), status, run, attempts }, created: true };
  }
  throw failure.reason;
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
 * Enqueues many tasks with as few requests as DynamoDB and SQS allow (25 per
 * BatchWriteItem, ten per SendMessageBatch), records and messages in
 * parallel. Each item succeeds or fails on its own, unless `allOrNothing`:
 * then, if any valid item cannot be enqueued, every one is stopped and every
 * one fails (a task a worker already claimed cannot be stopped; it is logged).
 */
export async function enqueueMany(engine: Engine, items: EnqueueManyItem[], { allOrNothing = false } = {}): Promise<EnqueueManyResult[]> {
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
    engine.store.createMany(valid.map((p) => newTaskItems(p.task, p.payloadJson, p.payloadBytes))),
    engine.queue.sendMany(valid.map((p) => toMessage(p.task, 1, p.task.delaySeconds))),
  ]);
  const errorOf = (id: string) => writeFailures.get(id) ?? sendFailures.get(id);
  const firstError = valid.map((p) => errorOf(p.task.taskId)).find((e) => e !== undefined);
  const toStop = allOrNothing && firstError ? valid : valid.filter((p) => errorOf(p.task.taskId));
  const resolutions = new Map(
    await Promise.all(toStop.map(async (p) => [p.task.taskId, await stopUnstarted(engine, p.task, 1, errorOf(p.task.taskId) ?? firstError)] as const)),
  );
  const started = [...resolutions].filter(([, r]) => r.outcome === 'started').map(([id]) => id);
  if (allOrNothing && started.length > 0) {
    engine.logger.error('Tasks of an all-or-nothing enqueue had already started when the others failed; they run', { taskIds: started });
  }
  const results = prepared.map((p): EnqueueManyResult => {
    if (p instanceof TaskQueueError) return { ok: false, error: p };
    const id = p.task.taskId;
    const resolution = resolutions.get(id);
    if (resolution && (allOrNothing || resolution.outcome !== 'started')) return { ok: false, error: errorOf(id) ?? firstError! };
    return { ok: true, task: { taskId: id, record: newRecord(p), created: true } };
  });
  if (engine.metrics) {
    for (const r of results) if (r.ok) engine.metrics.enqueued(r.task.record.name);
    engine.metrics.flush();
  }
  return results;
}

/** Checks a payload against its task; throws the ValidationError a caller should see. */
export function validatePayload(task: TaskDefinition, payload: unknown): void {
  const parsed = z.safeParse(task.payload, payload);
  if (!parsed.success) throw new ValidationError(`Payload does not match the schema of task "${task.name}"`, issuesOf(parsed.error));
}

function prepareTask(engine: Engine, name: string, payload: unknown, rawOptions: EnqueueOptions, taskId = newTaskId()): PreparedTask {
  const definition = getTask(name);
  if (!definition) throw new UnknownTaskError(name);
  const parsedOptions = OptionsSchema.safeParse(rawOptions);
  if (!parsedOptions.success) throw new ValidationError('Invalid enqueue options', issuesOf(parsedOptions.error));
  const options = parsedOptions.data;
  const payloadJson = JSON.stringify(payload ?? null);
  const payloadBytes = byteLength(payloadJson);
  if (payloadBytes > TASK_LIMITS.maxPayloadBytes) throw new PayloadTooLargeError(payloadBytes, TASK_LIMITS.maxPayloadBytes);
  validatePayload(definition, payload);

  const now = engine.now();
  const priority = options.priority ?? definition.priority;
  const maxAttempts = options.maxAttempts ?? definition.maxAttempts;
  const delaySeconds = options.delaySeconds;
  const task: NewTask = {
    taskId,
    name,
    // The input is stored, not the parsed output: the worker parses it again,
    // so schemas with transforms see the same input on every attempt.
    payload: payload ?? null,
    priority,
    maxAttempts,
    timeoutSeconds: definition.timeoutSeconds,
    createdAt: now.toISOString(),
    ...(delaySeconds ? { delaySeconds } : {}),
    ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
    expiresAt: Math.floor(now.getTime() / 1000) + engine.config.retentionDays * 86_400,
  };
  const hash = requestHash({ name, payload: payload ?? null, priority, maxAttempts, delaySeconds: delaySeconds ?? 0 });
  return { task, payloadJson, payloadBytes, requestHash: hash };
}

/** The record of a task just enqueued, as a read would return it. */
export function newRecord(prepared: PreparedTask): TaskRecord {
  return toRecord({ pk: '', sk: '', ...withoutPayload(prepared.task) }, undefined, prepared.payloadJson);
}

function withoutPayload(task: NewTask): Omit<NewTask, 'payload'> {
  const { payload: _payload, ...rest } = task;
  return rest;
}

/** zod issues as a client can read them: where, and what is wrong. */
export function issuesOf(error: $ZodError): Array<{ path: string; message: string }> {
  return error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}
