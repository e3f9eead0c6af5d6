import { cancelTask } from '../cancel';
import { runWithConcurrency } from '../concurrency';
import type { Engine } from '../engine';
import { TaskNotFoundError, TaskStateConflictError } from '../errors';
import { TERMINAL_STATUSES, type TaskRecord } from '../types';
import { stepEnded } from './advance';
import { finishWorkflow } from './parentStore';
import { stepId } from './stepIds';
import { readWorkflow, stepStates, type LoadedWorkflow } from './workflowRead';

/** Steps cancelled at once when a group is cancelled. */
const CANCELS_AT_ONCE = 16;

/**
 * Cancels a live workflow (RUNNING or WAITING): it ends CANCELLED at once,
 * with one conditional write, so no step's end moves it on after that; then
 * each of its steps that has not ended is cancelled as a task is (a pending
 * one at once, a running one asked to stop). Returns undefined when `taskId`
 * is no workflow.
 */
export async function cancelWorkflow(engine: Engine, taskId: string): Promise<TaskRecord | undefined> {
  const wf = await readWorkflow(engine, taskId);
  if (!wf) return undefined;
  const error = { type: 'WorkflowCancelled', message: 'Cancelled by a client' };
  const moved = await finishWorkflow(engine.store, taskId, wf.state.run, undefined, { status: 'CANCELLED', error }, engine.now());
  if (!moved.applied) throw new TaskStateConflictError(taskId, moved.state?.status ?? wf.state.status, 'cancel');
  // The steps as the cancel found them: a chain may have moved on since the read.
  await cancelSteps(engine, { ...wf, state: (moved.state as LoadedWorkflow['state'] | undefined) ?? wf.state });
  engine.logger.info('Workflow cancelled', { workflowId: taskId });
  return (await engine.store.get(taskId))!;
}

/** A step a client cancelled moves its workflow at once (it ends CANCELLED), rather than when its message comes. */
export async function stepCancelled(engine: Engine, record: TaskRecord): Promise<void> {
  if (!record.workflow || !('parentId' in record.workflow)) return;
  const state = await engine.store.getState(record.taskId);
  if (state) await stepEnded(engine, record.workflow.parentId, record.workflow.index, state);
}

async function cancelSteps(engine: Engine, wf: LoadedWorkflow): Promise<void> {
  const indexes = wf.spec.kind === 'chain' ? [wf.state.stepAt ?? 0] : [...wf.spec.members.keys(), ...(wf.spec.then ? [wf.spec.members.length] : [])];
  const states = await stepStates(engine, wf.id, indexes);
  const open = indexes.filter((i) => !TERMINAL_STATUSES.includes(states.get(i)?.status ?? 'PENDING'));
  await runWithConcurrency(open, CANCELS_AT_ONCE, async (index) => {
    try {
      await cancelTask(engine, stepId(wf.id, index));
    } catch (error) {
      // Not enqueued (yet), or ended meanwhile: nothing to cancel.
      if (!(error instanceof TaskNotFoundError || error instanceof TaskStateConflictError)) throw error;
    }
  });
}
