import * as z from '../zod';
import type { Engine } from '../engine';
import { ENQUEUE_OPTION_FIELDS, enqueueByName, enqueueMany, issuesOf, type EnqueuedTask } from '../enqueue';
import { TaskNotFoundError, ValidationError } from '../errors';
import { isTaskId } from '../keys';
import { taskStats } from '../stats';
import { listTasks } from '../taskList';
import { TASK_LIMITS } from '../task';
import { TASK_STATUSES, type TaskRecord, type TaskStatus } from '../types';
import { jsonBody, type ApiRequest } from './request';
import { json, type HttpResponse } from './response';
import type { Route } from './router';

/** A single enqueue body: the payload (256 KiB) plus room for the envelope. */
const TASK_BODY_LIMIT = TASK_LIMITS.maxPayloadBytes + 16 * 1024;
/** A batch body; each item's payload is still held to 256 KiB. Lambda's own request cap is 6 MB. */
const BATCH_BODY_LIMIT = 5 * 1024 * 1024;
const BATCH_MAX_ITEMS = 100;

const Name = z.string().check(z.minLength(1), z.maxLength(128));

// The idempotency key comes as a header, the other options in the body.
const EnqueueBody = z.strictObject({ name: Name, payload: z.optional(z.unknown()), ...ENQUEUE_OPTION_FIELDS });

const BatchBody = z.strictObject({ tasks: z.array(z.unknown()).check(z.minLength(1), z.maxLength(BATCH_MAX_ITEMS)) });

const ListQuery = z.object({
  status: z.optional(z.enum(TASK_STATUSES as unknown as [TaskStatus, ...TaskStatus[]])),
  name: z.optional(Name),
  limit: z.intFromText(20, 1, 100),
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
});

/** The routes of the task API (POST/GET/DELETE /tasks...). */
export function taskRoutes(engine: Engine): Route[] {
  return [
    {
      method: 'POST',
      path: '/tasks',
      handle: async (req) => {
        const body = parse(EnqueueBody, jsonBody(req, TASK_BODY_LIMIT), 'Invalid task request');
        const { name, payload, ...options } = body;
        const idempotencyKey = req.headers['idempotency-key'];
        const enqueued = await enqueueByName(engine, name, payload, { ...options, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) });
        return accepted(enqueued);
      },
    },
    {
      method: 'POST',
      path: '/tasks/batch',
      handle: async (req) => {
        const { tasks } = parse(BatchBody, jsonBody(req, BATCH_BODY_LIMIT), 'Invalid batch request');
        const items = tasks.map((raw) => EnqueueBody.safeParse(raw));
        const valid = items.flatMap((item, index) => (item.success ? [{ index, item: item.data }] : []));
        const results = await enqueueMany(
          engine,
          valid.map(({ item: { name, payload, ...options } }) => ({ name, payload, options })),
        );
        const byIndex = new Map(valid.map((v, i) => [v.index, results[i]!]));
        const out = items.map((item, index) => {
          if (!item.success) {
            return { index, ok: false, httpStatus: 400, error: { code: 'validation_error', message: 'Invalid task request', details: issuesOf(item.error) } };
          }
          const result = byIndex.get(index)!;
          if (result.ok) return { index, ok: true, httpStatus: 202, ...view202(result.task) };
          const rejected = statusOfItem(result.error.code);
          return { index, ok: false, httpStatus: rejected, error: { code: result.error.code, message: result.error.message } };
        });
        const acceptedCount = out.filter((o) => o.ok).length;
        // 202 if anything was accepted; otherwise the most telling failure.
        const status = acceptedCount > 0 ? 202 : out.some((o) => o.httpStatus === 503) ? 503 : 400;
        const summary = { accepted: acceptedCount, rejected: out.length - acceptedCount, items: out };
        if (status === 202) return json(202, summary);
        const error = status === 503 ? { code: 'service_unavailable', message: 'No task in the batch could be enqueued' } : { code: 'validation_error', message: 'No task in the batch was accepted; see items' };
        return json(status, { error, ...summary });
      },
    },
    {
      method: 'GET',
      path: '/tasks',
      handle: async (req) => {
        const query = parse(ListQuery, req.query, 'Invalid list query');
        const page = await listTasks(engine.store, query);
        return json(200, { items: page.items.map(toTaskView), nextCursor: page.nextCursor ?? null });
      },
    },
    {
      method: 'GET',
      path: '/stats',
      // Counts per status and throughput per minute, for the dashboard (or any monitor).
      handle: async () => json(200, await taskStats(engine.store, { now: engine.now() })),
    },
    {
      method: 'GET',
      path: '/tasks/{id}',
      handle: async (req) => {
        const taskId = taskIdParam(req);
        const record = await engine.store.get(taskId);
        if (!record) throw new TaskNotFoundError(taskId);
        return json(200, toTaskView(record));
      },
    },
    {
      method: 'DELETE',
      path: '/tasks/{id}',
      handle: async (req) => json(200, toTaskView(await engine.store.cancel(taskIdParam(req), engine.now()))),
    },
    {
      method: 'POST',
      path: '/tasks/{id}/retry',
      handle: async (req) => {
        const taskId = taskIdParam(req);
        const before = await engine.store.get(taskId);
        if (!before) throw new TaskNotFoundError(taskId);
        const record = await engine.store.resetForRetry(taskId, engine.now());
        try {
          await engine.queue.send({ message: { v: 1, taskId, name: record.name }, priority: record.priority });
        } catch (error) {
          // Put it back as it was, so a 503 leaves nothing waiting without a message.
          await engine.store.undoRetry(before, engine.now()).catch((cause: unknown) =>
            engine.logger.error('Could not undo a retry whose message was not sent', { taskId, error: cause }),
          );
          throw error;
        }
        return json(202, { taskId, status: record.status, statusUrl: statusUrl(taskId) }, { location: statusUrl(taskId) });
      },
    },
  ];
}

/** The API's view of a task: the record without the engine's bookkeeping (lease, shard). */
export function toTaskView(r: TaskRecord) {
  return {
    taskId: r.taskId,
    name: r.name,
    status: r.status,
    priority: r.priority,
    payload: r.payload,
    result: r.result ?? null,
    error: r.error ?? null,
    attempts: r.attempts,
    maxAttempts: r.maxAttempts,
    timeoutSeconds: r.timeoutSeconds,
    delaySeconds: r.delaySeconds ?? 0,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    startedAt: r.startedAt ?? null,
    finishedAt: r.finishedAt ?? null,
    durationMs: r.durationMs ?? null,
    attemptLog: r.attemptLog,
    expiresAt: r.expiresAt,
  };
}

export function statusUrl(taskId: string): string {
  return `/tasks/${taskId}`;
}

function accepted(enqueued: EnqueuedTask): HttpResponse {
  return json(202, view202(enqueued), { location: statusUrl(enqueued.taskId) });
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

function statusOfItem(code: string): number {
  return ({ payload_too_large: 413, service_unavailable: 503 } as Record<string, number>)[code] ?? 400;
}

function parse<T extends z.ZodMiniType>(schema: T, value: unknown, message: string): z.output<T> {
  const parsed = z.safeParse(schema, value);
  if (!parsed.success) throw new ValidationError(message, issuesOf(parsed.error));
  return parsed.data;
}
