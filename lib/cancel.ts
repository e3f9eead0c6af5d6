import type { Engine } from './engine';
import { clearTimerOf } from './schedules/dispatch';
import { addCounts, noCounts } from './store/counters';
import { loggableError } from './taskError';
import type { TaskRecord } from './types';

/** Cancels a task that has not started (SCHEDULED or PENDING) or is waiting to retry (RETRYING); its message is skipped when it comes, its timer removed. */
export async function cancelTask(engine: Engine, taskId: string): Promise<TaskRecord> {
  const record = await engine.store.cancel(taskId, engine.now());
  await clearTimerOf(engine, record);
  await addCounts(engine.store, { ...noCounts(), cancelled: 1 }, engine.now()).catch((error: unknown) =>
    engine.logger.warn('Could not update the task counters', { error: loggableError(error) }),
  );
  return record;
}
