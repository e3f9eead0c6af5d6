import type { OutgoingMessage } from '../message';

/**
 * What holds a task's message until its runAt when that is further ahead than
 * SQS can hold it (15 minutes): on AWS, an EventBridge Scheduler one-time
 * schedule that sends the message to the task's queue and deletes itself
 * (schedulerTimers.ts); anywhere without a schedule group (`npm start`, the
 * tests), an item in the task table that the local runtime polls
 * (tableTimers.ts). Either way a timer is named by its task's run, so setting
 * it again (an SDK retry, a second request with the same Idempotency-Key)
 * leaves one timer, and a timer that fires for a run that is over is dropped
 * by the worker like any stale message.
 */
export interface TaskTimers {
  /** Arranges for `out` to reach its queue at `runAtMs`, or a little before: the worker holds an early message back for the rest. */
  set(out: OutgoingMessage, runAtMs: number): Promise<void>;
  /** Removes the timer of a task's run, if it has not fired; nothing if there is none. */
  clear(taskId: string, run: number, runAtMs: number): Promise<void>;
}
