import type { Engine } from '../engine';
import type { OutgoingMessage, TaskMessage } from '../message';
import type { Priority } from '../types';
import { loggableError } from '../taskError';

/** SQS's longest DelaySeconds: a longer wait is sent again when this one ends. */
const MAX_DELAY_SECONDS = 900;

/** How a message that must wait leaves the worker: sent again with a delay (and acknowledged), or handed back. */
export interface Wait {
  seconds: number;
  /** True: a fresh message carries the task; the one received is acknowledged. False: hand the received one back for `seconds`. */
  requeued: boolean;
}

/**
 * Makes a task wait `seconds` without spending its message's receives: a
 * fresh message of the same run, delayed, carries it on (with what it holds:
 * its waits, its rate token), so that however long the wait, the queue's
 * maxReceiveCount never sends it to the dead-letter queue. If the send fails,
 * the received message is handed back for the same time instead.
 */
export async function requeue(engine: Engine, priority: Priority, message: TaskMessage, seconds: number, changes: Partial<TaskMessage>): Promise<Wait> {
  const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(seconds)));
  const out: OutgoingMessage = { message: { ...message, ...changes }, priority, ...(delaySeconds > 0 ? { delaySeconds } : {}) };
  try {
    await engine.queue.send(out);
    return { seconds: delaySeconds, requeued: true };
  } catch (error) {
    engine.logger.warn('Could not send the waiting task again; its message is handed back instead', { taskId: message.taskId, error: loggableError(error) });
    return { seconds, requeued: false };
  }
}
