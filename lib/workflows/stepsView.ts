import type { Engine } from '../engine';
import type { TaskRecord, TaskStatus } from '../types';
import { nameOf } from './advance';
import { stepId } from './stepIds';
import { isWaitStep, ON_TIMEOUT_INDEX, type StepSpec, type StepView, type WorkflowSpec } from './types';
import { readWorkflow, stepStates } from './workflowRead';

/**
 * A workflow's record with its steps (`[{index, taskId, name, status}]`),
 * read from the steps' states (eventually consistent: half the price, and a
 * step's status a moment old is what polling shows anyway). A step not yet
 * enqueued is PENDING while the workflow runs and CANCELLED once it ended
 * (the workflow's error says why); a waiting step is WAITING. Any other
 * record is returned as it is, with nothing read.
 */
export async function withSteps(engine: Engine, record: TaskRecord): Promise<TaskRecord> {
  if (!record.workflow || !('kind' in record.workflow)) return record;
  const wf = await readWorkflow(engine, record.taskId);
  if (!wf) return record;
  const specs = allSteps(wf.spec);
  const onTimeouts = specs.flatMap((spec, i) => (isWaitStep(spec) && spec.onTimeout ? [ON_TIMEOUT_INDEX + i] : []));
  const states = await stepStates(engine, wf.id, [...specs.map((_, i) => i), ...onTimeouts], false);
  const live = wf.state.status === 'RUNNING' || wf.state.status === 'WAITING';
  const steps = specs.map((spec, index): StepView => {
    const stored = states.get(index)?.status;
    // A wait that timed out shows its onTimeout step, which ran in its place.
    const instead = isWaitStep(spec) && spec.onTimeout ? states.get(ON_TIMEOUT_INDEX + index) : undefined;
    if (instead && isWaitStep(spec)) return { index, taskId: instead.taskId, name: spec.onTimeout!.name, status: instead.status, waitFor: spec.waitFor };
    let status: TaskStatus = stored ?? (live ? 'PENDING' : 'CANCELLED');
    if (isWaitStep(spec) && (status === 'PENDING' || status === 'SCHEDULED') && live) status = 'WAITING';
    return { index, taskId: stepId(wf.id, index), name: nameOf(spec), status, ...(isWaitStep(spec) ? { waitFor: spec.waitFor } : {}) };
  });
  return { ...record, steps };
}

function allSteps(spec: WorkflowSpec): StepSpec[] {
  return spec.kind === 'chain' ? spec.steps : [...spec.members, ...(spec.then ? [spec.then] : [])];
}
