import { cancelTask } from '../cancel';
import { DebounceOptions } from '../control/debounceOptions';
import type { Engine } from '../engine';
import { ENQUEUE_OPTION_FIELDS, enqueueByName, enqueueMany, issuesOf, type EnqueuedTask } from '../enqueue';
import { TaskNotFoundError, ValidationError } from '../errors';
import { isTaskId } from '../keys';
import { LAMBDA_PAYLOAD_BYTES, MAX_OBJECT_BYTES } from '../payloads/limits';
import { withObjects, type RecordWithObjects } from '../payloads/taskObjects';
import { IdempotencyKey } from '../preparedTask';
import { retryTask } from '../retry';
import { taskStats } from '../stats';
import { listTasks } from '../store/listing';
import { TASK_STATUSES, type TaskRecord, type TaskStatus, type TaskSummary } from '../types';
import { withSteps } from '../workflows/stepsView';
import * as z from '../zod';
import { jsonBody, type ApiRequest } from './request';
import { describeError, json, type HttpResponse } from './response';
import type { Route } from './router';
import type { ParameterDoc, ResponseDoc } from './routeDoc';
import { BatchRejected, BatchTaskOf, described, BatchResult, EnqueueRequestOf, StatsView, TaskAccepted, TaskId, TaskPage, TaskSummaryView, TaskView, TaskViewOf } from './schemas';

/**
 * A request's body, single or batch: up to what Lambda takes in one request
 * (6 MB, API Gateway's body inside it). Each payload is then held to its own
 * limit (5 MB, lib/payloads), with a 413 that names it.
 */
const BODY_LIMIT = LAMBDA_PAYLOAD_BYTES;
const BATCH_MAX_ITEMS = 100;

const Name = z.string().check(z.minLength(1), z.maxLength(128));

// The idempotency key comes as a header, the other options in the body.
const EnqueueBody = z.strictObject({ name: Name, payload: z.optional(z.unknown()), ...ENQUEUE_OPTION_FIELDS, debounce: z.optional(DebounceOptions) });

const BatchBody = z.strictObject({ tasks: z.array(z.unknown()).check(z.minLength(1), z.maxLength(BATCH_MAX_ITEMS)) });

const ListQuery = z.object({
  status: described(z.optional(z.enum(TASK_STATUSES as unknown as [TaskStatus, ...TaskStatus[]])), 'Only tasks in this status.'),
  name: described(z.optional(Name), 'Only tasks of this name.'),
  limit: described(z.intFromText(20, 1, 100), 'Tasks per page, at most.'),
  cursor: described(z.optional(z.string().check(z.minLength(1), z.maxLength(200))), 'Where the page starts: the nextCursor of the page before.'),
});

const idParam: Record<string, ParameterDoc> = { id: { description: 'The task id, as POST /tasks answered it.', schema: TaskId } };
const notFound: ResponseDoc = { description: 'No task with that id (`task_not_found`).' };
const acceptedDoc: ResponseDoc = { description: 'Accepted: the task is recorded and queued.', schema: TaskAccepted, headers: { Location: 'The task\'s status URL.' } };
const unavailable: ResponseDoc = {
  description: 'SQS or DynamoDB is unavailable (`service_unavailable`), or no API key is configured (`auth_not_configured`): nothing was done. Retry after Retry-After.',
  headers: { 'Retry-After': 'Seconds to wait before trying again.' },
};

/** The routes of the task API (POST/GET/DELETE /tasks...). */
export function taskRoutes(engine: Engine): Route[] {
  return [
    {
      method: 'POST',
      path: '/tasks',
      doc: {
        operationId: 'enqueueTask',
        tag: 'tasks',
        summary: 'Enqueue a task',
        description: 'Records the task PENDING and queues it. The body names a registered task and carries a payload that its schema accepts.',
        headers: { 'Idempotency-Key': { description: 'The same key with the same body answers the same task; with another body, 409.', schema: z.optional(IdempotencyKey) } },
        body: EnqueueRequestOf,
        responses: {
          202: acceptedDoc,
          400: { description: 'Bad JSON, an unknown task (`unknown_task`) or a payload its schema refuses (`validation_error`, with the issues in details).' },
          409: { description: 'The Idempotency-Key was used with another body (`idempotency_key_reused`).' },
          413: { description: `The payload is over ${MAX_OBJECT_BYTES} bytes (5 MB) as JSON, or the body over ${LAMBDA_PAYLOAD_BYTES} (\`payload_too_large\`; the message names the limit: 256 KB for a debounced task, or one first due more than half the retention ahead).` },
          503: unavailable,
        },
      },
      handle: async (req) => {
        const body = parse(EnqueueBody, jsonBody(req, BODY_LIMIT), 'Invalid task request');
        const { name, payload, ...options } = body;
        const idempotencyKey = req.headers['idempotency-key'];
        const enqueued = await enqueueByName(engine, name, payload, { ...options, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) });
        return accepted(enqueued.record);
      },
    },
    {
      method: 'POST',
      path: '/tasks/batch',
      doc: {
        operationId: 'enqueueTasks',
        tag: 'tasks',
        summary: 'Enqueue up to 100 tasks',
        description: 'Each task is accepted or refused on its own, and reported by its index.',
        body: (tasks) => z.strictObject({ tasks: z.array(BatchTaskOf(tasks)).check(z.minLength(1), z.maxLength(BATCH_MAX_ITEMS)) }),
        responses: {
          202: { description: 'At least one task was accepted; items says what became of each.', schema: BatchResult },
          400: { description: 'The batch is malformed, or none of its tasks was accepted (items says why).', schema: BatchRejected },
          503: { ...unavailable, schema: BatchRejected },
        },
      },
      handle: async (req) => {
        const { tasks } = parse(BatchBody, jsonBody(req, BODY_LIMIT), 'Invalid batch request');
        const items = tasks.map((raw) => EnqueueBody.safeParse(raw));
        const valid = items.flatMap((item, index) => (item.success ? [{ index, item: item.data }] : []));
        const results = await enqueueMany(
          engine,
          valid.map(({ item: { name, payload, ...options } }) => ({ name, payload, options })),
        );
        const byIndex = new Map(valid.map((v, i) => [v.index, results[i]!]));
        const out = items.map((item, index) => {
          const result = byIndex.get(index);
          if (result?.ok) return { index, ok: true, httpStatus: 202, ...view202(result.task) };
          const { status, body } = describeError(item.success ? result!.error : new ValidationError('Invalid task request', issuesOf(item.error)));
          return { index, ok: false, httpStatus: status, error: body };
        });
        const acceptedCount = out.filter((o) => o.ok).length;
        const summary = { accepted: acceptedCount, rejected: out.length - acceptedCount, items: out };
        if (acceptedCount > 0) return json(202, summary);
        // Nothing accepted: the most telling failure, a dependency's over the client's.
        const unavailable = out.some((o) => o.httpStatus === 503);
        const error = unavailable
          ? { code: 'service_unavailable', message: 'No task in the batch could be enqueued' }
          : { code: 'validation_error', message: 'No task in the batch was accepted; see items' };
        return json(unavailable ? 503 : 400, { error, ...summary }, unavailable ? { 'retry-after': '1' } : {});
      },
    },
    {
      method: 'GET',
      path: '/tasks',
      doc: {
        operationId: 'listTasks',
        tag: 'tasks',
        summary: 'List tasks, newest first',
        query: ListQuery,
        responses: { 200: { description: 'A page of tasks.', schema: TaskPage }, 400: { description: 'A bad status, limit or cursor (`validation_error`).' }, 503: unavailable },
      },
      handle: async (req) => {
        const query = parse(ListQuery, req.query, 'Invalid list query');
        const page = await listTasks(engine.store, query);
        return json(200, { items: page.items.map(toSummaryView), nextCursor: page.nextCursor ?? null });
      },
    },
    {
      method: 'GET',
      path: '/stats',
      doc: {
        operationId: 'getStats',
        tag: 'tasks',
        summary: 'Finished tasks per minute and the queues\' depth',
        responses: { 200: { description: 'The last hour.', schema: StatsView }, 503: unavailable },
      },
      // Finished tasks per minute and the queues' depth, for the dashboard (or any monitor).
      handle: async () => json(200, await taskStats(engine, engine.now())),
    },
    {
      method: 'GET',
      path: '/tasks/{id}',
      doc: {
        operationId: 'getTask',
        tag: 'tasks',
        summary: 'Read a task',
        params: idParam,
        responses: {
          200: { description: 'The task, with its payload and, once it succeeded, its result (or links to them, `payloadUrl` and `resultUrl`, when too large to embed).', schema: TaskViewOf },
          404: notFound,
          503: unavailable,
        },
      },
      handle: async (req) => {
        const taskId = taskIdParam(req);
        const record = await engine.store.get(taskId);
        if (!record) throw new TaskNotFoundError(taskId);
        // A workflow shows its steps (lib/workflows); any other task reads nothing more.
        return json(200, toTaskView(await withObjects(engine, await withSteps(engine, record))));
      },
    },
    {
      method: 'DELETE',
      path: '/tasks/{id}',
      doc: {
        operationId: 'cancelTask',
        tag: 'tasks',
        summary: 'Cancel a task',
        description:
          'A PENDING or RETRYING task is CANCELLED at once (200). A RUNNING task is asked to stop (202): its ctx.signal aborts within a few seconds and it ends CANCELLED, unless it finishes first; the record shows cancelRequestedAt meanwhile.',
        params: idParam,
        responses: {
          200: { description: 'The task, now CANCELLED.', schema: TaskViewOf },
          202: { description: 'The task is RUNNING: cancellation is requested (cancelRequestedAt); poll it to see it end.', schema: TaskViewOf },
          404: notFound,
          409: { description: 'The task has finished: SUCCEEDED, FAILED or CANCELLED (`invalid_state`).' },
          503: unavailable,
        },
      },
      handle: async (req) => {
        const record = await cancelTask(engine, taskIdParam(req));
        return json(record.status === 'RUNNING' ? 202 : 200, toTaskView(await withObjects(engine, record)));
      },
    },
    {
      method: 'POST',
      path: '/tasks/{id}/retry',
      doc: {
        operationId: 'retryTask',
        tag: 'tasks',
        summary: 'Run a FAILED or CANCELLED task again',
        description: 'A new run, with a fresh budget of attempts.',
        params: idParam,
        responses: { 202: acceptedDoc, 404: notFound, 409: { description: 'The task is not FAILED or CANCELLED (`invalid_state`).' }, 503: unavailable },
      },
      handle: async (req) => accepted(await retryTask(engine, taskIdParam(req))),
    },
  ];
}

/** The API's view of a task in a list: no payload, result or attempt log (GET /tasks/{id} has them). */
export function toSummaryView(t: TaskSummary): z.output<typeof TaskSummaryView> {
  return {
    taskId: t.taskId,
    name: t.name,
    status: t.status,
    priority: t.priority,
    error: t.error ?? null,
    run: t.run,
    attempts: t.attempts,
    maxAttempts: t.maxAttempts,
    timeoutSeconds: t.timeoutSeconds,
    delaySeconds: t.delaySeconds ?? 0,
    runAt: t.runAt ?? null,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
    startedAt: t.startedAt ?? null,
    finishedAt: t.finishedAt ?? null,
    durationMs: t.durationMs ?? null,
    expiresAt: t.expiresAt,
    traceId: t.traceId ?? null,
  };
}

/** The API's view of a task: the record without the engine's bookkeeping (its lease), and links to what it keeps in S3 when too large to embed. */
export function toTaskView(r: TaskRecord | RecordWithObjects): z.output<typeof TaskView> {
  return {
    ...toSummaryView(r),
    payload: r.payload,
    result: r.result ?? null,
    nextAttemptAt: r.nextAttemptAt === undefined ? null : new Date(r.nextAttemptAt).toISOString(),
    attemptLog: r.attemptLog,
    ...('payloadUrl' in r && r.payloadUrl ? { payloadUrl: r.payloadUrl } : {}),
    ...('resultUrl' in r && r.resultUrl ? { resultUrl: r.resultUrl } : {}),
    progress: r.progress ?? null,
    progressAt: r.progressAt ?? null,
    cancelRequestedAt: r.cancelRequestedAt ?? null,
    debounce: r.debounce ?? null,
    ...(r.steps ? { steps: r.steps } : {}),
  };
}

export function statusUrl(taskId: string): string {
  return `/tasks/${taskId}`;
}

function accepted(record: TaskRecord): HttpResponse {
  return json(202, { taskId: record.taskId, status: record.status, statusUrl: statusUrl(record.taskId) }, { location: statusUrl(record.taskId) });
}

function view202(enqueued: EnqueuedTask) {
  return { taskId: enqueued.taskId, status: enqueued.record.status, statusUrl: statusUrl(enqueued.taskId) };
}

function taskIdParam(req: ApiRequest): string {
  const id = req.params.id ?? '';
  // Anything that is not a task id cannot name a task: 404, like an unknown id.
  if (!isTaskId(id)) throw new TaskNotFoundError(id.slice(0, 64));
  return id;
}

function parse<T extends z.ZodMiniType>(schema: T, value: unknown, message: string): z.output<T> {
  const parsed = z.safeParse(schema, value);
  if (!parsed.success) throw new ValidationError(message, issuesOf(parsed.error));
  return parsed.data;
}
