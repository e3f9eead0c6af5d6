import type { Context } from 'aws-lambda';
import { getDefaultEngine, type Engine } from './engine';
import { enqueueMany, validatePayload, type EnqueueManyItem, type EnqueueOptions } from './enqueue';
import { BackgroundEnqueueError, TaskQueueError, ValidationError } from './errors';
import { newTaskId } from './keys';
import type { PayloadOf, TaskDefinition } from './task';
import { withIncomingTrace } from './tracing';
import { addWorkflow, enqueueAddedWorkflows, type AddedWorkflow } from './workflows/background';
import { isWorkflow, type Workflow } from './workflows/define';

export interface AddOptions extends Omit<EnqueueOptions, 'idempotencyKey' | 'debounce'> {
  /** Enqueue this task even if the handler throws (FastAPI skips them all: fastapi#2604). */
  evenOnError?: boolean;
}

/** What a wrapped handler receives: FastAPI's `BackgroundTasks`, made durable. */
export interface BackgroundTasks {
  /**
   * Queues `task` to be enqueued when the handler returns, and returns the id it
   * will have. The payload is checked now, so a bad one throws at the call.
   */
  add<T extends TaskDefinition>(task: T, payload: PayloadOf<T>, options?: AddOptions): { taskId: string };
  /** Queues a workflow (`add(chain(...))`, lib/workflows), checked now, enqueued with the rest, all or nothing. */
  add(workflow: Workflow): { taskId: string };
}

type Handler<E, R> = (event: E, context: Context, backgroundTasks: BackgroundTasks) => Promise<R>;

/**
 * Wraps a Lambda handler so that it can add background tasks, and enqueues
 * all of them (ten per SendMessageBatch) before its response leaves: all or
 * nothing. If any cannot be enqueued, none is (those already written are
 * stopped), and the wrapper throws BackgroundEnqueueError instead of
 * returning: never a silent drop, never a response for work that will not
 * happen. Its trigger retries; an HTTP handler maps the error to a 503
 * (`withHttpErrors`, or the task API's own error mapping).
 * If the handler throws, only tasks added with `evenOnError` are enqueued.
 */
export function withBackgroundTasks<E, R>(handler: Handler<E, R>, options: { engine?: () => Engine } = {}) {
  const run = async (event: E, context: Context): Promise<R> => {
    const added: Array<EnqueueManyItem & { evenOnError: boolean }> = [];
    const workflows: AddedWorkflow[] = [];
    const backgroundTasks: BackgroundTasks = {
      add(task: TaskDefinition | Workflow, payload?: unknown, { evenOnError = false, ...addOptions }: AddOptions = {}) {
        if (isWorkflow(task)) {
          const workflow = addWorkflow(task);
          workflows.push(workflow);
          return { taskId: workflow.taskId };
        }
        validatePayload(task, payload);
        // A burst is joined one request at a time (lib/control/debounce.ts): never inside an all-or-nothing batch.
        if ('debounce' in addOptions) throw new ValidationError('Invalid enqueue options', [{ path: 'debounce', message: 'debounce is taken by single enqueues (POST /tasks, enqueue) only' }]);
        const taskId = newTaskId();
        added.push({ name: task.name, payload, options: addOptions, evenOnError, taskId });
        return { taskId };
      },
    };
    const engine = (options.engine ?? getDefaultEngine)();

    let response: R;
    try {
      response = await handler(event, context, backgroundTasks);
    } catch (error) {
      const failures = await enqueueAll(engine, added.filter((t) => t.evenOnError));
      if (failures.length > 0) engine.logger.error('Background tasks added with evenOnError were not enqueued', { failures: describe(failures) });
      throw error;
    }
    // Workflows first (each all or nothing), then the tasks; if those fail, the workflows are cancelled.
    const undoWorkflows = workflows.length === 0 ? undefined : await enqueueAddedWorkflows(engine, workflows);
    const failures = await enqueueAll(engine, added);
    if (failures.length === 0) return response;
    await undoWorkflows?.();
    engine.logger.error('Background tasks could not be enqueued; none was', { failures: describe(failures) });
    throw new BackgroundEnqueueError(failures);
  };
  // An HTTP event's traceparent: its tasks join the caller's trace (inside the api, the request's own stands).
  return (event: E, context: Context): Promise<R> => withIncomingTrace((event as { headers?: Record<string, string | undefined> } | null)?.headers, () => run(event, context));
}

async function enqueueAll(engine: Engine, items: EnqueueManyItem[]): Promise<Array<{ name: string; error: TaskQueueError }>> {
  // Stryker disable next-line ConditionalExpression: enqueueMany of nothing makes no request either; this only skips the call
  if (items.length === 0) return [];
  const results = await enqueueMany(engine, items, { allOrNothing: true });
  return results.flatMap((r, i) => (r.ok ? [] : [{ name: items[i]!.name, error: r.error }]));
}

function describe(failures: Array<{ name: string; error: TaskQueueError }>) {
  return failures.map((f) => ({ name: f.name, code: f.error.code }));
}
