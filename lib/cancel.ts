import type { Engine } from './engine';
import { addCounts, noCounts } from './store/counters';
import { loggableError } from './taskError';
import type { TaskRecord } from './types';

/** Cancels a task that has not started (PENDING) or is waiting to retry (RETRYING); its message is skipped when it comes. */
export async function cancelTask(engine: Engine, taskId: string): Promise<TaskRecord> {
  const record = await engine.store.cancel(taskId, engine.now());
  await addCounts(engine.store, { ...noCounts(), cancelled: 1 }, engine.now()).catch((error: unknown) =>
    engine.logger.warn('Could not update the task counters', { error: loggableError(error) }),
  );
  return record;
}
