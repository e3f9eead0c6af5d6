import type { Engine } from '../engine';
import { validatePayload } from '../preparedTask';
import { getTask } from '../task';
import { PayloadTooLargeError, TaskNotFoundError } from '../errors';
import { byteLength } from '../text';
import type { TaskRecord } from '../types';
import { stepEnded } from './advance';
import { enqueueStep } from './enqueueStep';
import { SignalNotExpectedError } from './errors';
import { stepId } from './stepIds';
import { isWaitStep, WORKFLOW_LIMITS } from './types';
import { recordSignal, waitTask } from './waitStep';
import { readWorkflow, stepStates } from './workflowRead';

/** How a signal was taken: it ended the wait, or it had already (a repeated signal changes nothing). */
export interface SignalOutcome {
  record: TaskRecord;
  repeated: boolean;
}

/**
 * Sends signal `name` with `data` to a workflow: if it is WAITING for it,
 * the waiting step ends with `data` as its result (the next step's payload)
 * and the workflow moves on. A signal its wait already took is harmless (it
 * only makes sure the workflow moved on); one it is not waiting for
 * (another name, no such wait, its wait timed out or the workflow is over)
 * is a SignalNotExpectedError (409).
 */
export async function signalWorkflow(engine: Engine, workflowId: string, name: string, data: unknown): Promise<SignalOutcome> {
  const dataJson = JSON.stringify(data ?? null);
  const bytes = byteLength(dataJson);
  if (bytes > WORKFLOW_LIMITS.signalBytes) throw new PayloadTooLargeError(bytes, WORKFLOW_LIMITS.signalBytes);
  const wf = await readWorkflow(engine, workflowId);
  if (!wf) {
    const record = await engine.store.get(workflowId);
    if (!record) throw new TaskNotFoundError(workflowId);
    throw new SignalNotExpectedError(workflowId, name, 'it is not a workflow');
  }
  const steps = wf.spec.kind === 'chain' ? wf.spec.steps : [];
  const waits = steps.flatMap((step, index) => (isWaitStep(step) && step.waitFor === name ? [index] : []));
  if (waits.length === 0) throw new SignalNotExpectedError(workflowId, name, 'none of its steps waits for it');
  const stepAt = wf.state.stepAt ?? 0;
  const now = engine.now();
  if (wf.state.status === 'WAITING' && waits.includes(stepAt)) {
    const id = stepId(workflowId, stepAt);
    let { task } = await engine.store.getItems(id);
    if (!task) {
      // Its enqueue was lost (a crash after the workflow moved to it): the wait is made now, then ended by this signal.
      const step = steps[stepAt] as { waitFor: string; timeoutSeconds: number };
      await enqueueStep(engine, { workflowId, index: stepAt, name: waitTask.name, payload: { signal: name, timeoutSeconds: step.timeoutSeconds }, delaySeconds: step.timeoutSeconds });
      task = (await engine.store.getItems(id)).task!;
    }
    // The data is the next step's payload: one its schema refuses is the client's mistake (400), and the chain keeps waiting.
    const next = steps[stepAt + 1];
    if (next && !isWaitStep(next) && next.payload === undefined) checkStepPayload(next.name, data);
    const out = await recordSignal(engine.store, task, dataJson, now);
    const state = out.state;
    if (out.applied || (state?.status === 'SUCCEEDED' && state.attempts === 0)) {
      await stepEnded(engine, workflowId, stepAt, state!);
      return { record: (await engine.store.get(workflowId))!, repeated: !out.applied };
    }
    throw new SignalNotExpectedError(workflowId, name, 'its wait has timed out');
  }
  // Not waiting for it now: harmless if one of its waits already took this signal.
  const states = await stepStates(engine, workflowId, waits);
  const taken = waits.find((i) => states.get(i)?.status === 'SUCCEEDED' && states.get(i)!.attempts === 0);
  if (taken === undefined) throw new SignalNotExpectedError(workflowId, name, `it is ${wf.state.status}`);
  await stepEnded(engine, workflowId, taken, states.get(taken)!);
  return { record: (await engine.store.get(workflowId))!, repeated: true };
}

/** Throws the ValidationError enqueue would, for `data` as the payload of task `name`. */
function checkStepPayload(name: string, data: unknown): void {
  const definition = getTask(name);
  // Stryker disable next-line ConditionalExpression: a chain's steps were checked against the registry when it was enqueued
  if (definition) validatePayload(definition, data ?? null);
}
