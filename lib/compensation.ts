import { whileUnavailable } from './deadline';
import type { Engine } from './engine';
import type { Copied, StateItem } from './store/items';
import { loggableError } from './taskError';
import { clip } from './text';

/** How a failed enqueue was resolved: nothing of it will run, a worker already runs it, or another request now sends it. */
export type Resolution = { outcome: 'stopped' } | { outcome: 'started'; state: StateItem } | { outcome: 'taken-over'; state: StateItem };

// Stryker disable next-line ObjectLiteral,StringLiteral: callers look for 'started' and 'taken-over' only; anything else is a stop
const STOPPED: Resolution = { outcome: 'stopped' };

/** Tries at resolving, with a pause that doubles from 100 ms: the stop itself may meet a DynamoDB hiccup. */
const STOP_TRIES = 5;

/**
 * After an enqueue's write or send failed, or answered ambiguously (it may
 * have landed): stops the task if no worker has claimed it, so that a 503
 * means nothing runs; if a worker has claimed it, it runs, and the answer
 * must be 202. A stop is a conditional write on the task's state, so it
 * yields to whatever claimed or took the task first.
 *
 * If DynamoDB refuses even the stop, the outcome cannot be known: the one case
 * left (docs/delivery-semantics.md). It is logged with the task id and the
 * caller answers 503.
 */
export async function stopUnstarted(engine: Engine, task: Copied, run: number, cause: unknown, owner?: string): Promise<Resolution> {
  const error = { type: 'EnqueueFailed', message: clip(`Not enqueued: ${(cause as Error)?.message ?? String(cause)}`, 200) };
  const tried = await whileUnavailable(STOP_TRIES, async (): Promise<Resolution> => {
    const blocker = await engine.store.stop(task, run, error, engine.now(), owner);
    if (!blocker) return STOPPED;
    if (blocker.run === run && blocker.attempts > 0) return { outcome: 'started', state: blocker };
    if (owner !== undefined && blocker.dispatch?.owner !== owner && blocker.status === 'PENDING') return { outcome: 'taken-over', state: blocker };
    // Stopped already (no attempts, no hold), cancelled by a client, or moved on to a later run: nothing of this run will run.
    return STOPPED;
  });
  if (tried.ok) return tried.value;
  engine.logger.error('Enqueue failed and could not be stopped: the task may still run', { taskId: task.taskId, error: loggableError(tried.last), cause: loggableError(cause) });
  return STOPPED;
}
