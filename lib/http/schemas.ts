import type { $ZodType } from 'zod/v4/core';
import { ULID } from '../keys';
import { DebounceOptions } from '../control/debounceOptions';
import { ENQUEUE_OPTION_FIELDS } from '../preparedTask';
import type { TaskDefinition } from '../task';
import { PRIORITIES, TASK_STATUSES, type Priority, type TaskStatus } from '../types';
import { WAIT_TASK_NAME_RESERVED, WORKFLOW_TASK_NAME } from '../workflows/types';
import * as z from '../zod';
import { STATUS_OF } from './response';
import type { TaskSchemaBuilder } from './routeDoc';

/**
 * The JSON the API answers, as zod schemas: the routes' documentation
 * (lib/openapi turns them into the OpenAPI document) and the type the views in
 * taskRoutes.ts are written against. Named schemas become components of the
 * document, so generated clients get models with these names.
 */
function named<T extends $ZodType>(id: string, schema: T, description?: string): T {
  z.globalRegistry.add(schema, { id, ...(description ? { description } : {}) });
  return schema;
}

/** `schema`, with a description for the document (a parameter's, a field's). */
export function described<T extends $ZodType>(schema: T, description: string): T {
  z.globalRegistry.add(schema, { description });
  return schema;
}

/**
 * A named schema made from the registered tasks, built once per list of tasks
 * (a document asks for it from several routes, and they share it).
 */
function perTask(id: string, build: (tasks: readonly TaskDefinition[]) => $ZodType, description?: string): TaskSchemaBuilder {
  let last: { tasks: readonly TaskDefinition[]; schema: $ZodType } | undefined;
  return (tasks) => {
    if (last?.tasks === tasks) return last.schema;
    if (last) z.globalRegistry.remove(last.schema);
    last = { tasks, schema: named(id, build(tasks), description) };
    return last.schema;
  };
}

const Timestamp = z.iso.datetime();
const Status = z.enum(TASK_STATUSES as unknown as [TaskStatus, ...TaskStatus[]]);
const PriorityName = z.enum(PRIORITIES as [Priority, ...Priority[]]);
const Count = z.int().check(z.minimum(0));

export const TaskId = named('TaskId', z.string().check(z.regex(ULID)), 'A ULID: task ids sort by creation time.');

export const ErrorBody = named(
  'ErrorBody',
  z.object({
    code: z.enum([...(Object.keys(STATUS_OF) as Array<keyof typeof STATUS_OF>), 'internal_error']),
    message: z.string(),
    details: z.optional(z.unknown()),
  }),
  'What went wrong: a stable code to act on, a message for people, and for validation errors the issues ({path, message}[]) in details.',
);
export const ErrorResponse = named('ErrorResponse', z.object({ error: ErrorBody }));

export const TaskErrorView = named('TaskError', z.object({ type: z.string(), message: z.string() }), 'The error of a failed attempt: its type (the thrown error\'s name) and message.');

export const AttemptView = named(
  'Attempt',
  z.object({
    attempt: z.int().check(z.minimum(1)),
    run: z.int().check(z.minimum(1)),
    startedAt: Timestamp,
    durationMs: Count,
    outcome: z.enum(['succeeded', 'failed', 'timed_out', 'cancelled']),
    error: z.optional(TaskErrorView),
    spanId: described(z.optional(z.string().check(z.regex(/^[0-9a-f]{16}$/))), 'The attempt\'s span in the task\'s trace, when tracing recorded it.'),
  }),
);

const summaryShape = {
  taskId: TaskId,
  name: z.string(),
  status: Status,
  priority: PriorityName,
  error: z.nullable(TaskErrorView),
  run: z.int().check(z.minimum(1)),
  attempts: Count,
  maxAttempts: z.int().check(z.minimum(1)),
  timeoutSeconds: z.number(),
  delaySeconds: Count,
  runAt: described(z.nullable(Timestamp), 'When the first run may start, for a task enqueued with runAt or delaySeconds: it reads SCHEDULED until then.'),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  startedAt: z.nullable(Timestamp),
  finishedAt: z.nullable(Timestamp),
  durationMs: z.nullable(Count),
  expiresAt: z.int(),
  traceId: described(
    z.nullable(z.string().check(z.regex(/^[0-9a-f]{32}$/))),
    'The W3C trace id of the task\'s trace: the request that enqueued it, the enqueue and every attempt (docs/tracing.md). Null for a task enqueued before tracing, and in lists of FAILED or CANCELLED tasks (read the task for it).',
  ),
};

export const TaskSummaryView = named('TaskSummary', z.object(summaryShape), 'A task in a list: its record without payload, result and attempt log.');

const StepViewSchema = named(
  'WorkflowStep',
  z.object({ index: z.int(), taskId: z.string(), name: z.string(), status: z.enum(TASK_STATUSES as unknown as [TaskStatus, ...TaskStatus[]]), waitFor: z.optional(z.string()) }),
  'A step of a workflow: its task (GET /tasks/{taskId} reads it) and where it is; a waiting step names its signal.',
);

const DebounceView = named('Debounce', z.object({ key: z.string(), seconds: z.int() }), 'The debounce a task was enqueued with: a burst of enqueues with this key ran as this one task.');

const taskShape = {
  ...summaryShape,
  payload: z.unknown(),
  result: z.unknown(),
  nextAttemptAt: z.nullable(Timestamp),
  attemptLog: z.array(AttemptView),
  payloadUrl: described(z.optional(z.string()), 'A payload over 256 KB, not embedded (payload is null): a presigned GET of its JSON, for 15 minutes.'),
  resultUrl: described(z.optional(z.string()), 'A result too large to embed in this answer (result is null; Lambda answers at most 6 MB): a presigned GET of its JSON, for 15 minutes.'),
  progress: described(z.unknown(), 'The last value the task reported with ctx.progress (null if none): any JSON up to 4 KB.'),
  progressAt: described(z.nullable(Timestamp), 'When progress was written.'),
  cancelRequestedAt: described(z.nullable(Timestamp), 'When a client asked to cancel the task while it ran (DELETE answered 202); it ends CANCELLED within a few seconds, unless it finished first.'),
  debounce: z.nullable(DebounceView),
  steps: described(z.optional(z.array(StepViewSchema)), 'A workflow\'s steps (lib/workflows), in order: each a task of its own; absent on other tasks.'),
};

/** A task's record as GET /tasks/{id} answers it, whatever its task. */
export const TaskView = z.object(taskShape);

/** A result too large to keep, as the record holds it instead (lib/taskError.ts). */
const TruncatedResult = named('TruncatedResult', z.object({ truncated: z.literal(true), reason: z.string(), sizeBytes: z.optional(z.int()) }));

/**
 * A task's record, one branch per registered task: each with its name, its
 * payload schema and, where the task declares one, its result schema.
 */
export const TaskViewOf = perTask(
  'Task',
  (tasks) =>
    oneBranchPerTask(tasks, (task) =>
      z.object({
        ...taskShape,
        name: z.literal(task.name),
        payload: task.payload,
        result: task.result ? z.union([task.result, TruncatedResult, z.null()]) : z.unknown(),
      }),
      // A workflow's own record (lib/workflows): its payload is its definition; and a step waiting for a signal, whose result is the signal's data.
      z.object({ ...taskShape, name: z.literal(WORKFLOW_TASK_NAME), payload: z.unknown(), result: z.unknown() }),
      z.object({ ...taskShape, name: z.literal(WAIT_TASK_NAME_RESERVED), payload: z.object({ signal: z.string(), timeoutSeconds: z.int() }), result: z.unknown() }),
    ),
  'A task\'s record. result is null until the task succeeds, and a marker ({truncated: true}) when it was over 5 MB; a payload or result too large to embed is null, with payloadUrl or resultUrl to read it.',
);

export const TaskAccepted = named('TaskAccepted', z.object({ taskId: TaskId, status: Status, statusUrl: z.string() }));

export const TaskPage = named(
  'TaskPage',
  z.object({ items: z.array(TaskSummaryView), nextCursor: z.nullable(z.string()) }),
  'A page of tasks, newest first; follow nextCursor until it is null (a page may be short and still have one).',
);

const BatchItem = named(
  'BatchItemResult',
  z.union([
    z.object({ index: Count, ok: z.literal(true), httpStatus: z.literal(202), taskId: TaskId, status: Status, statusUrl: z.string() }),
    z.object({ index: Count, ok: z.literal(false), httpStatus: z.int(), error: ErrorBody }),
  ]),
);
const batchSummary = { accepted: Count, rejected: Count, items: z.array(BatchItem) };
export const BatchResult = named('BatchResult', z.object(batchSummary), 'One result per task of the request, by index.');
/** A batch of which nothing was accepted: the error, and each item's result when the batch could be read. */
export const BatchRejected = named('BatchRejected', z.object({ error: ErrorBody, accepted: z.optional(Count), rejected: z.optional(Count), items: z.optional(z.array(BatchItem)) }));

const QueueDepthView = z.object({ visible: Count, delayed: Count, inFlight: Count });
export const StatsView = named(
  'Stats',
  z.object({
    generatedAt: Timestamp,
    windowMinutes: z.int(),
    throughput: z.array(z.object({ minute: Timestamp, succeeded: Count, failed: Count })),
    totals: z.object({ succeeded: Count, failed: Count, cancelled: Count }),
    queues: z.object({ waiting: Count, inFlight: Count, byPriority: z.object({ high: QueueDepthView, default: QueueDepthView }) }),
  }),
  'Runs that ended per minute over the window (oldest first) and the queues\' depth, as SQS estimates it.',
);

/** What POST /tasks takes: one branch per registered task, with its payload schema and the enqueue options. */
export const EnqueueRequestOf = perTask('EnqueueRequest', (tasks) =>
  oneBranchPerTask(tasks, (task) =>
    z.strictObject({
      name: z.literal(task.name),
      payload: task.payload,
      ...ENQUEUE_OPTION_FIELDS,
      debounce: described(z.optional(DebounceOptions), 'Run once for a burst of enqueues with this key: with the last payload, seconds after the last enqueue. Every request of the burst answers the same task id. Not with delaySeconds or runAt; its payload up to 256 KB (each request of a burst keeps its own in the table).'),
    }),
  ),
);

/** A task of POST /tasks/batch: as POST /tasks takes it, without a debounce (a burst is joined one request at a time). */
export const BatchTaskOf = perTask('BatchTask', (tasks) =>
  oneBranchPerTask(tasks, (task) => z.strictObject({ name: z.literal(task.name), payload: task.payload, ...ENQUEUE_OPTION_FIELDS })),
);

/** A union discriminated on `name`; with no task registered, a schema nothing matches. */
function oneBranchPerTask(tasks: readonly TaskDefinition[], branch: (task: TaskDefinition) => z.ZodMiniObject, ...more: z.ZodMiniObject[]) {
  const branches = [...tasks.map(branch), ...more];
  return branches.length > 0 ? z.discriminatedUnion('name', branches as [z.ZodMiniObject, ...z.ZodMiniObject[]]) : z.never();
}
