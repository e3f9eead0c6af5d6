import { cancelRunning } from './control/cancelRunning';
import type { Engine } from './engine';
import { TaskNotFoundError, TaskStateConflictError } from './errors';
import { clearTimerOf } from './schedules/dispatch';
import { addCounts, noCounts } from './store/counters';
import { loggableError } from './taskError';
import type { TaskRecord } from './types';
import { cancelWorkflow, stepCancelled } from './workflows/cancelWorkflow';

/**
 * Cancels a task that has not started (SCHEDULED or PENDING) or is waiting
 * to retry (RETRYING): its message is skipped when it comes, its timer
 * removed. A RUNNING task is asked to stop (lib/control/cancelRunning.ts):
 * the record comes back still RUNNING, with `cancelRequestedAt`, and the
 * worker records CANCELLED within a few seconds.
 */
export async function cancelTask(engine: Engine, taskId: string): Promise<TaskRecord> {
  for (let tries = 0; ; tries++) {
    try {
      const record = await engine.store.cancel(taskId, engine.now());
      await clearTimerOf(engine, record);
      await countCancelled(engine);
      // A workflow's step (a wait's message may be a year away): its workflow hears of it now (lib/workflows).
      await stepCancelled(engine, record);
      return record;
    } catch (error) {
      // A workflow is RUNNING or WAITING while its steps run: it cancels them (lib/workflows).
      const workflow = error instanceof TaskStateConflictError && (error.status === 'RUNNING' || error.status === 'WAITING') ? await cancelWorkflow(engine, taskId) : undefined;
      if (workflow) return workflow;
      if (!(error instanceof TaskStateConflictError && error.status === 'RUNNING') || tries >= 2) throw error;
    }
    const running = await cancelRunning(engine.store, taskId, engine.now(), () => engine.store.getState(taskId));
    // It stopped running between the two reads: cancel it as it is now, or refuse.
    if (!running) continue;
    if (running.outcome === 'cancelled') await countCancelled(engine);
    const record = await engine.store.get(taskId);
    if (!record) throw new TaskNotFoundError(taskId);
    return record;
  }
}

async function countCancelled(engine: Engine): Promise<void> {
  await addCounts(engine.store, { ...noCounts(), cancelled: 1 }, engine.now()).catch((error: unknown) =>
    engine.logger.warn('Could not update the task counters', { error: loggableError(error) }),
  );
}
