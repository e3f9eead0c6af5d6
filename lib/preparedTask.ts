import type { $ZodError } from 'zod/v4/core';
import { expiresAtFrom } from './config';
import { DebounceOptions } from './control/debounceOptions';
import type { Engine } from './engine';
import { PayloadTooLargeError, UnknownTaskError, ValidationError } from './errors';
import { newTaskId } from './keys';
import { TABLE_ONLY_LIMITS } from './payloads/limits';
import { payloadLimit } from './payloads/storePayload';
import { requestHash } from './requestHash';
import { RUN_AT_FIELDS, runAtFields, runAtText, runsAtOf } from './schedules/runAt';
import { toRecord, type NewTask, type StateItem } from './store/items';
import { getTask, TASK_LIMITS, type TaskDefinition } from './task';
import { byteLength } from './text';
import { startEnqueueSpan, toStored, type EnqueueSpan } from './tracing';
import { PRIORITIES, type Priority, type TaskRecord } from './types';
import * as z from './zod';

export interface EnqueueOptions {
  /** Run no sooner than this many seconds from now: up to a year (docs/scheduling.md). */
  delaySeconds?: number;
  /** Run no sooner than this moment (a Date, or RFC 3339 text), up to a year ahead; not with delaySeconds. */
  runAt?: Date | string;
  /** Same key and same request: the same task. Same key, another request: IdempotencyConflictError. */
  idempotencyKey?: string;
  priority?: Priority;
  maxAttempts?: number;
  /** Runs once for a burst of enqueues with this key, with the last payload, `seconds` after the last (lib/control/debounce.ts). */
  debounce?: DebounceOptions;
}

/** The options that shape a task, as schema fields: `POST /tasks` takes the same ones in its body. */
export const ENQUEUE_OPTION_FIELDS = {
  ...RUN_AT_FIELDS,
  priority: z.optional(z.enum(PRIORITIES as [Priority, ...Priority[]])),
  maxAttempts: z.optional(z.int().check(z.minimum(1), z.maximum(TASK_LIMITS.maxAttempts))),
};

/** An idempotency key: `POST /tasks` takes it as the Idempotency-Key header. */
export const IdempotencyKey = z.string().check(z.minLength(1), z.maxLength(255), z.regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces'));

const OptionsSchema = z.strictObject({ ...ENQUEUE_OPTION_FIELDS, idempotencyKey: z.optional(IdempotencyKey), debounce: z.optional(DebounceOptions) });

/** The outcome of one enqueue: `created` is false when an idempotency key returned an existing task. */
export interface EnqueuedTask {
  taskId: string;
  record: TaskRecord;
  created: boolean;
}

/** A request checked against its task: what enqueue writes. */
export interface PreparedTask {
  task: NewTask;
  payloadJson: string;
  payloadBytes: number;
  requestHash: string;
  /** The enqueue's span, started once the request is valid: enqueue ends it. Its trace context is in `task`. */
  span: EnqueueSpan;
  /** Kept in the table even with a bucket (payloadInTable): S3 would not keep it long enough, or a debounce joins it. */
  payloadInTable?: true;
}

/**
 * Why a payload stays in the table even with a bucket, if it does: a
 * debounced task's payloads are written by each request of its burst; and S3
 * expires an object `retentionDays` after its upload (the bucket's lifecycle
 * rule), so a task first due more than half of that ahead keeps its payload
 * with its record, which lives until its retention after that time.
 */
function payloadInTable(engine: Engine, debounced: boolean, dueInMs: number): string | false {
  if (debounced) return 'for a debounced task (each request of a burst keeps its payload in the table)';
  const days = engine.config.retentionDays / 2;
  if (dueInMs > days * 86_400_000) return `for a task first due more than ${days} days ahead (its payload is kept in the table: S3 keeps one ${engine.config.retentionDays} days)`;
  return false;
}

/** Checks a payload against its task; throws the ValidationError a caller should see. */
export function validatePayload(task: TaskDefinition, payload: unknown): void {
  const parsed = z.safeParse(task.payload, payload);
  if (!parsed.success) throw new ValidationError(`Payload does not match the schema of task "${task.name}"`, issuesOf(parsed.error));
}

/** Checks a request against its task and decides the task's record: what enqueue writes. */
export function prepareTask(engine: Engine, name: string, payload: unknown, rawOptions: EnqueueOptions, taskId = newTaskId()): PreparedTask {
  const definition = getTask(name);
  if (!definition) throw new UnknownTaskError(name);
  const parsedOptions = OptionsSchema.safeParse(rawOptions.runAt === undefined ? rawOptions : { ...rawOptions, runAt: runAtText(rawOptions.runAt) });
  if (!parsedOptions.success) throw new ValidationError('Invalid enqueue options', issuesOf(parsedOptions.error));
  const options = parsedOptions.data;
  if (options.debounce && (options.delaySeconds || options.runAt !== undefined)) {
    const path = options.delaySeconds ? 'delaySeconds' : 'runAt';
    throw new ValidationError('Invalid enqueue options', [{ path, message: `a debounced task starts debounce.seconds after the last enqueue of its burst: ${path} does not apply` }]);
  }
  const now = engine.now();
  const when = runAtFields(options, now);
  const runsAt = Math.max(now.getTime(), runsAtOf({ createdAt: now.toISOString(), ...when }));
  const payloadJson = JSON.stringify(payload ?? null);
  const payloadBytes = byteLength(payloadJson);
  const inTable = payloadInTable(engine, options.debounce !== undefined, runsAt - now.getTime());
  const limit = inTable ? TABLE_ONLY_LIMITS.payloadBytes : payloadLimit(engine);
  if (payloadBytes > limit) throw new PayloadTooLargeError(payloadBytes, limit, inTable && engine.objects ? inTable : undefined);
  validatePayload(definition, payload);

  const priority = options.priority ?? definition.priority;
  const maxAttempts = options.maxAttempts ?? definition.maxAttempts;
  const span = startEnqueueSpan({ taskId, name, priority }, engine.config.queueUrls[priority]);
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
    ...when,
    ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
    ...(options.debounce ? { debounce: options.debounce } : {}),
    // Kept its retention from when it first runs: a task scheduled beyond it would be gone before its time.
    expiresAt: expiresAtFrom(new Date(runsAt), engine.config.retentionDays),
    // Rides in the definition, which enqueue writes anyway: tracing adds no write (and 25 bytes).
    ...toStored(span.carrier),
  };
  // runAt and debounce only when asked for: the hash of every other request stays what it was (keys live 30 days).
  // The trace is not part of the request: the same key and body from another trace is the same task.
  const hash = requestHash({
    name,
    payload: payload ?? null,
    priority,
    maxAttempts,
    delaySeconds: options.delaySeconds ?? 0,
    ...(options.runAt === undefined ? {} : { runAt: when.runAt }),
    ...(options.debounce ? { debounce: options.debounce } : {}),
  });
  return { task, payloadJson, payloadBytes, requestHash: hash, span, ...(inTable ? { payloadInTable: true } : {}) };
}

/** The record of a task just enqueued, as a read would return it. */
export function newRecord(prepared: Pick<PreparedTask, 'task' | 'payloadJson'>): TaskRecord {
  // Stryker disable next-line StringLiteral: the keys of an item are not part of its record
  return toRecord({ pk: '', sk: '', ...withoutPayload(prepared.task) }, undefined, prepared.payloadJson);
}

/** The record to answer with as task `taskId` (an earlier request's id), from what this request knows, without another read. */
export function recordOf(prepared: Pick<PreparedTask, 'task' | 'payloadJson'>, taskId: string, state?: StateItem): TaskRecord {
  const record = newRecord({ ...prepared, task: { ...prepared.task, taskId } });
  return state ? { ...record, status: state.status, run: state.run, attempts: state.attempts } : record;
}

function withoutPayload(task: NewTask): Omit<NewTask, 'payload'> {
  const { payload: _payload, ...rest } = task;
  return rest;
}

/** zod issues as a client can read them: where, and what is wrong. */
export function issuesOf(error: $ZodError): Array<{ path: string; message: string }> {
  return error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}
