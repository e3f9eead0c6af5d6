import { expiresAtFrom } from '../config';
import type { Engine } from '../engine';
import { toMessage } from '../message';
import { SQS_MAX_DELAY_SECONDS } from '../schedules/runAt';
import { TaskStateConflictError } from '../errors';
import { retryTask } from '../retry';
import { TERMINAL_STATUSES, type TaskRecord } from '../types';
import { runWithConcurrency } from '../concurrency';
import { stepEnded } from './advance';
import { reopenWorkflow } from './parentStore';
import { waitSeconds } from './start';
import { stepId } from './stepIds';
import { isWaitStep } from './types';
import { readWorkflow, stepStates } from './workflowRead';

const ENDED_BADLY = ['FAILED', 'CANCELLED'];

/** A waiting step that timed out (or was cancelled) waits again: a new run of it, its message held back by SQS (15 minutes at most). */
async function waitAgain(engine: Engine, taskId: string, timeoutSeconds: number): Promise<void> {
  const { record } = await engine.store.resetForRetry(taskId, engine.now(), expiresAtFrom(engine.now(), engine.config.retentionDays));
  await engine.queue.send(toMessage(record, record.run, Math.min(timeoutSeconds, SQS_MAX_DELAY_SECONDS)));
}
const JOINS_AT_ONCE = 16;

/**
 * Runs a FAILED or CANCELLED workflow again from where it stopped: it is
 * RUNNING again (its run one more), and the step that failed or was
 * cancelled (a chain's), or every such member and the fan-in (a group's), is
 * retried as a task is; a step that never started (its payload was refused)
 * is enqueued again from the step before. Steps that succeeded are not run
 * again. Returns undefined when `taskId` is no workflow.
 */
export async function retryWorkflow(engine: Engine, taskId: string): Promise<TaskRecord | undefined> {
  const wf = await readWorkflow(engine, taskId);
  if (!wf) return undefined;
  if (!ENDED_BADLY.includes(wf.state.status)) throw new TaskStateConflictError(taskId, wf.state.status, 'retry');
  const now = engine.now();
  // The new run gets the whole retention, as a task's retry does: the workflow's state and definition (its spec) both.
  const expiresAt = expiresAtFrom(now, engine.config.retentionDays) + waitSeconds(wf.spec);
  if (wf.spec.kind === 'chain') {
    const stepAt = wf.state.stepAt ?? 0;
    const status = isWaitStep(wf.spec.steps[stepAt]!) ? 'WAITING' : 'RUNNING';
    const reopened = await reopenWorkflow(engine.store, taskId, wf.state, status, [], now, expiresAt);
    if (!reopened.applied) throw new TaskStateConflictError(taskId, reopened.state?.status ?? wf.state.status, 'retry');
    await engine.store.extendExpiry(wf.task, expiresAt);
    // Read once the workflow is live again: a step that ends from now on moves it on itself, and one that ended before is seen here.
    const states = await stepStates(engine, taskId, stepAt > 0 ? [stepAt - 1, stepAt] : [stepAt]);
    const current = states.get(stepAt);
    const step = wf.spec.steps[stepAt]!;
    if (current && ENDED_BADLY.includes(current.status) && isWaitStep(step)) await waitAgain(engine, stepId(taskId, stepAt), step.timeoutSeconds);
    else if (current && ENDED_BADLY.includes(current.status)) await retryTask(engine, stepId(taskId, stepAt));
    else if (current?.status === 'SUCCEEDED') await stepEnded(engine, taskId, stepAt, current);
    else if (stepAt > 0 && states.get(stepAt - 1)?.status === 'SUCCEEDED') await stepEnded(engine, taskId, stepAt - 1, { ...states.get(stepAt - 1)! });
    return (await engine.store.get(taskId))!;
  }
  const size = wf.spec.members.length;
  const indexes = [...wf.spec.members.keys(), size];
  const states = await stepStates(engine, taskId, indexes);
  const failed = indexes.filter((i) => i < size && ENDED_BADLY.includes(states.get(i)?.status ?? ''));
  const reopened = await reopenWorkflow(engine.store, taskId, wf.state, 'RUNNING', failed, now, expiresAt);
  if (!reopened.applied) throw new TaskStateConflictError(taskId, reopened.state?.status ?? wf.state.status, 'retry');
  await engine.store.extendExpiry(wf.task, expiresAt);
  await Promise.all(failed.map((i) => retryTask(engine, stepId(taskId, i))));
  // Members that ended while the workflow was over were not counted: they are now (the last of them may start the fan-in).
  // Read again once it is live: one that ended between the first read and the reopen is counted too.
  const others = await stepStates(engine, taskId, indexes.filter((i) => i < size && !failed.includes(i)));
  const ended = [...others].filter(([, state]) => TERMINAL_STATUSES.includes(state.status));
  await runWithConcurrency(ended, JOINS_AT_ONCE, ([i, state]) => stepEnded(engine, taskId, i, state));
  const fanIn = states.get(size);
  if (failed.length === 0 && fanIn && ENDED_BADLY.includes(fanIn.status)) await retryTask(engine, stepId(taskId, size));
  return (await engine.store.get(taskId))!;
}
