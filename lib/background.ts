import type { Context } from 'aws-lambda';
import { getDefaultEngine, type Engine } from './engine';
import { enqueueMany, validatePayload, type EnqueueManyItem, type EnqueueOptions } from './enqueue';
import { newTaskId } from './keys';
import { TaskQueueError } from './errors';
import { errorResponse } from './http/response';
import type { PayloadOf, TaskDefinition } from './task';

export interface AddOptions extends Omit<EnqueueOptions, 'idempotencyKey'> {
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
}

/** Raised (outside HTTP) when tasks added during a handler could not all be enqueued. */
export class BackgroundEnqueueError extends TaskQueueError {
  constructor(readonly failures: Array<{ name: string; error: TaskQueueError }>) {
    super('background_enqueue_failed', `${failures.length} background task(s) could not be enqueued`);
  }
}

type Handler<E, R> = (event: E, context: Context, backgroundTasks: BackgroundTasks) => Promise<R>;

/**
 * Wraps a Lambda handler so that it can add background tasks; all of them are
 * enqueued (ten per SendMessageBatch) before the response leaves. If any
 * cannot be, an HTTP handler answers 503 JSON instead, and any other handler
 * throws BackgroundEnqueueError so that its trigger retries: never a silent drop.
 * If the handler throws, only tasks added with `evenOnError` are enqueued.
 */
export function withBackgroundTasks<E, R>(handler: Handler<E, R>, options: { engine?: () => Engine } = {}) {
  return async (event: E, context: Context): Promise<R | { statusCode: number; headers: Record<string, string>; body: string }> => {
    const added: Array<EnqueueManyItem & { evenOnError: boolean }> = [];
    const backgroundTasks: BackgroundTasks = {
      add(task, payload, { evenOnError = false, ...addOptions } = {}) {
        validatePayload(task, payload);
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
      if (failures.length > 0) engine.logger.error('Background tasks added with evenOnError were not enqueued', { failures });
      throw error;
    }
    const failures = await enqueueAll(engine, added);
    if (failures.length === 0) return response;
    engine.logger.error('Background tasks could not be enqueued', { failures: failures.map((f) => ({ name: f.name, code: f.error.code })) });
    if (isHttpEvent(event)) return errorResponse(new BackgroundEnqueueError(failures));
    throw new BackgroundEnqueueError(failures);
  };
}

async function enqueueAll(engine: Engine, items: EnqueueManyItem[]): Promise<Array<{ name: string; error: TaskQueueError }>> {
  if (items.length === 0) return [];
  const results = await enqueueMany(engine, items);
  return results.flatMap((r, i) => (r.ok ? [] : [{ name: items[i]!.name, error: r.error }]));
}

function isHttpEvent(event: unknown): boolean {
  return typeof event === 'object' && event !== null && 'requestContext' in event && 'headers' in event;
}
