import type { Engine } from '../engine';
import { DependencyUnavailableError } from '../errors';
import { toMessage } from '../message';
import type { NewTask } from '../store/items';
import type { TaskRecord } from '../types';
import { needsTimer, runsAtOf, SQS_MAX_DELAY_SECONDS } from './runAt';

/** What dispatch needs of a task: its message's parts, and when it may run. */
type Dispatchable = Pick<NewTask, 'taskId' | 'name' | 'priority' | 'createdAt' | 'delaySeconds' | 'runAt'>;

/**
 * Sends run `run` of a task that enqueue has just written: to its queue, held
 * back by SQS until its delay or runAt if that is within 15 minutes, or to a
 * timer that sends it then (timers.ts). The enqueue paths call this instead
 * of sending the message themselves; a task without runAt is sent exactly as
 * before.
 */
export async function sendRun(engine: Engine, task: Dispatchable, run: number): Promise<void> {
  const nowMs = engine.now().getTime();
  if (needsTimer(task, nowMs)) return engine.timers.set(toMessage(task, run), runsAtOf(task));
  return engine.queue.send(toMessage(task, run, sqsDelayOf(task, nowMs)));
}

/** sendRun for many first runs (enqueueMany): SQS batches for most, a timer each for the far ones. Returns the ids not sent, with why. */
export async function sendFirstRuns(engine: Engine, tasks: Dispatchable[]): Promise<Map<string, DependencyUnavailableError>> {
  const nowMs = engine.now().getTime();
  const timed = tasks.filter((t) => needsTimer(t, nowMs));
  const queued = tasks.filter((t) => !needsTimer(t, nowMs));
  const [failed, timerOutcomes] = await Promise.all([
    engine.queue.sendMany(queued.map((t) => toMessage(t, 1, sqsDelayOf(t, nowMs)))),
    Promise.allSettled(timed.map((t) => engine.timers.set(toMessage(t, 1), runsAtOf(t)))),
  ]);
  timerOutcomes.forEach((outcome, i) => {
    if (outcome.status === 'fulfilled') return;
    const reason: unknown = outcome.reason;
    failed.set(timed[i]!.taskId, reason instanceof DependencyUnavailableError ? reason : new DependencyUnavailableError('scheduler', 'CreateSchedule', reason));
  });
  return failed;
}

/**
 * Removes the timer of a task that was cancelled before its runAt, so that
 * nothing is left to fire for it on AWS (where a fired one would only be
 * dropped, as the task is over). Best effort: the cancel stands either way.
 */
export async function clearTimerOf(engine: Engine, record: TaskRecord): Promise<void> {
  if (record.run !== 1 || !needsTimer(record, Date.parse(record.createdAt))) return;
  try {
    await engine.timers.clear(record.taskId, 1, runsAtOf(record));
  } catch (error) {
    engine.logger.warn('Could not remove the timer of a cancelled task; when it fires, its message is dropped', { taskId: record.taskId, error: (error as Error).message });
  }
}

/** The SQS delay: the one asked for, else what is left until runAt (at most SQS's cap; none when due). */
function sqsDelayOf(task: Dispatchable, nowMs: number): number | undefined {
  if (task.delaySeconds !== undefined && task.delaySeconds <= SQS_MAX_DELAY_SECONDS) return task.delaySeconds;
  if (task.runAt === undefined) return undefined;
  const seconds = Math.ceil((Date.parse(task.runAt) - nowMs) / 1000);
  return seconds > 0 ? Math.min(seconds, SQS_MAX_DELAY_SECONDS) : undefined;
}
