import { stopUnstarted } from './compensation';
import { enqueueDebounced } from './control/debounce';
import { resolving } from './deadline';
import { getDefaultEngine, type Engine } from './engine';
import { TaskQueueError, ValidationError } from './errors';
import { enqueueWithKey } from './idempotency';
import { storePayload, storePayloads } from './payloads/storePayload';
import { sendFirstRuns, sendRun } from './schedules/dispatch';
import { newRecord, prepareTask, type EnqueuedTask, type EnqueueOptions, type PreparedTask } from './preparedTask';
import { newTaskItems } from './store/items';
import type { PayloadOf, TaskDefinition } from './task';
import { isWorkflow, type Workflow } from './workflows/define';
import { enqueueWorkflow, type EnqueuedWorkflow } from './workflows/start';

export { ENQUEUE_OPTION_FIELDS, issuesOf, validatePayload, type EnqueuedTask, type EnqueueOptions } from './preparedTask';

/**
 * Enqueues a task durably: its record in DynamoDB and a message in SQS.
 * Resolves once both are written; rejects with a typed error otherwise,
 * having left nothing that will run (see `compensation.ts`).
 */
export async function enqueue<T extends TaskDefinition>(task: T, payload: PayloadOf<T>, options?: EnqueueOptions, engine?: Engine): Promise<EnqueuedTask>;
/** Enqueues a workflow: `enqueue(chain(a.with(payload), b))` or `enqueue(group([...], { then }))` (lib/workflows). */
export async function enqueue(workflow: Workflow, options?: Record<string, never>, engine?: Engine): Promise<EnqueuedWorkflow>;
export async function enqueue(task: TaskDefinition | Workflow, ...rest: unknown[]): Promise<EnqueuedTask | EnqueuedWorkflow> {
  if (isWorkflow(task)) return enqueueWorkflow((rest[1] as Engine | undefined) ?? getDefaultEngine(), task['~workflow']);
  const [payload, options = {}, engine = getDefaultEngine()] = rest as [unknown, EnqueueOptions | undefined, Engine | undefined];
  return enqueueByName(engine, task.name, payload, options);
}

/** Enqueue by task name, for callers that only have data (the HTTP API). */
export async function enqueueByName(engine: Engine, name: string, payload: unknown, options: EnqueueOptions = {}): Promise<EnqueuedTask> {
  const prepared = prepareTask(engine, name, payload, options);
  const key = options.idempotencyKey;
  const enqueued = await prepared.span.during(() =>
    prepared.task.debounce
      ? enqueueDebounced(engine, prepared, prepared.task.debounce, key)
      : key === undefined
        ? enqueueNew(engine, prepared)
        : enqueueWithKey(engine, prepared, key),
  );
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
  // A payload kept in S3 is written first: if that fails, nothing of the task exists, and nothing runs.
  const payloadObject = await storePayload(engine, task.taskId, prepared);
  const [written, sent] = await Promise.allSettled([
    engine.store.create(newTaskItems(task, prepared.payloadJson, prepared.payloadBytes, payloadObject)),
    sendRun(engine, task, 1),
  ]);
  const failure = [written, sent].find((r) => r.status === 'rejected');
  if (!failure) return { taskId: task.taskId, record: newRecord(prepared), created: true };
  const resolution = await resolving(() => stopUnstarted(engine, task, 1, failure.reason));
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
  options?: Omit<EnqueueOptions, 'idempotencyKey' | 'debounce'>;
  /** A fresh id from newTaskId(), when the caller must know it before the write. */
  taskId?: string;
}

/**
 * Enqueues many tasks with as few requests as DynamoDB and SQS allow (25 per
 * BatchWriteItem, ten per SendMessageBatch), records and messages in
 * parallel. Each item succeeds or fails on its own, unless `allOrNothing`:
 * then, if any valid item cannot be enqueued, every one is stopped and every
 * one fails (a task a worker already claimed cannot be stopped; it is logged),
 * unless no stop took: a worker had claimed every one, so all succeed.
 */
export async function enqueueMany(engine: Engine, items: EnqueueManyItem[], { allOrNothing = false } = {}): Promise<EnqueueManyResult[]> {
  const prepared: Array<PreparedTask | TaskQueueError> = items.map((item) => {
    try {
      // A debounced task joins or starts a burst one request at a time: POST /tasks and enqueue() only.
      if ((item.options as EnqueueOptions | undefined)?.debounce !== undefined) throw new ValidationError('Invalid enqueue options', [{ path: 'debounce', message: 'debounce is taken by single enqueues (POST /tasks, enqueue) only' }]);
      return prepareTask(engine, item.name, item.payload, item.options ?? {}, item.taskId);
    } catch (error) {
      // Stryker disable next-line ConditionalExpression: prepareTask throws nothing but TaskQueueErrors; this keeps a bug from becoming an item's result
      if (error instanceof TaskQueueError) return error;
      throw error;
    }
  });
  const checked = prepared.filter((p): p is PreparedTask => !(p instanceof TaskQueueError));
  const refused = prepared.find((p): p is TaskQueueError => p instanceof TaskQueueError);
  if (allOrNothing && refused) {
    // One item refused: nothing of the others is written or sent.
    for (const p of checked) p.span.end({ ok: false, error: refused });
    return prepared.map((p) => ({ ok: false, error: p instanceof TaskQueueError ? p : refused }));
  }
  // Payloads kept in S3 first: a task whose upload failed is neither written nor sent (all or nothing: no task is).
  const uploads = await storePayloads(engine, checked.map((p) => ({ taskId: p.task.taskId, payloadJson: p.payloadJson, payloadBytes: p.payloadBytes, payloadInTable: p.payloadInTable })));
  const valid = allOrNothing && uploads.failures.size > 0 ? [] : checked.filter((p) => !uploads.failures.has(p.task.taskId));
  const [writeFailures, sendFailures] = await Promise.all([
    engine.store.createMany(valid.map((p) => newTaskItems(p.task, p.payloadJson, p.payloadBytes, uploads.keys.get(p.task.taskId)))),
    sendFirstRuns(engine, valid.map((p) => p.task)),
  ]);
  const errorOf = (id: string) => uploads.failures.get(id) ?? writeFailures.get(id) ?? sendFailures.get(id);
  const uploadError = uploads.failures.values().next().value;
  const firstError = valid.map((p) => errorOf(p.task.taskId)).find((e) => e !== undefined);
  const toStop = allOrNothing && firstError ? valid : valid.filter((p) => errorOf(p.task.taskId));
  const resolutions = new Map(
    await resolving(() => Promise.all(toStop.map(async (p) => [p.task.taskId, await stopUnstarted(engine, p.task, 1, errorOf(p.task.taskId) ?? firstError)] as const))),
  );
  const started = [...resolutions].filter(([, r]) => r.outcome === 'started').map(([id]) => id);
  // All or nothing fails only if a task was stopped: if a worker had claimed every one, all of them run, and the answer is theirs.
  const allFail = allOrNothing && started.length < resolutions.size;
  if (allFail && started.length > 0) {
    engine.logger.error('Tasks of an all-or-nothing enqueue had already started when the others failed; they run', { taskIds: started });
  }
  const results = prepared.map((p): EnqueueManyResult => {
    if (p instanceof TaskQueueError) return { ok: false, error: p };
    const id = p.task.taskId;
    const uploadFailure = uploads.failures.get(id) ?? (allOrNothing ? uploadError : undefined);
    if (uploadFailure) {
      const error = errorOf(id) ?? uploadFailure;
      p.span.end({ ok: false, error });
      return { ok: false, error };
    }
    const resolution = resolutions.get(id);
    if (resolution && (allFail || resolution.outcome !== 'started')) {
      const error = errorOf(id) ?? firstError!;
      p.span.end({ ok: false, error });
      return { ok: false, error };
    }
    p.span.end({ ok: true, taskId: id, created: true });
    return { ok: true, task: { taskId: id, record: newRecord(p), created: true } };
  });
  if (engine.metrics) {
    for (const r of results) if (r.ok) engine.metrics.enqueued(r.task.record.name);
    engine.metrics.flush();
  }
  return results;
}

