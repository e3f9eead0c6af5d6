import { expiresAtFrom } from './config';
import { resolving } from './deadline';
import type { Engine } from './engine';
import { toMessage } from './message';
import { renewPayload } from './payloads/renewPayload';
import { loggableError } from './taskError';
import type { TaskRecord } from './types';
import { retryWorkflow } from './workflows/retryWorkflow';

/**
 * Runs a FAILED or CANCELLED task again: a new run (its number one more), a
 * fresh budget of attempts, and a message for that run. Nothing of the
 * earlier run can touch the new one. If the message cannot be sent, the task
 * is put back as it was, unless the new run already started (the send landed
 * after all): then it runs, and the answer is the task, not an error.
 */
export async function retryTask(engine: Engine, taskId: string): Promise<TaskRecord> {
  // A workflow re-runs from its failed step (lib/workflows).
  const workflow = await retryWorkflow(engine, taskId);
  if (workflow) return workflow;
  const now = engine.now();
  const { before, record } = await engine.store.resetForRetry(taskId, now, expiresAtFrom(now, engine.config.retentionDays));
  try {
    // A payload kept in S3 is not uploaded again: its object is renewed for the new retention, before the run is sent.
    await renewPayload(engine, record);
    await engine.queue.send(toMessage(record, record.run));
    return record;
  } catch (error) {
    const undone = await resolving(() => engine.store.undoRetry(before, engine.now())).catch((cause: unknown) => {
      // The task stays PENDING, perhaps without a message: cancel it, then retry it.
      engine.logger.error('Could not undo a retry whose message was not sent', { taskId, error: loggableError(cause) });
      return true;
    });
    if (undone) throw error;
    return (await engine.store.get(taskId)) ?? record;
  }
}
