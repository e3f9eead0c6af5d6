import type { Engine } from '../engine';
import { cancelTask } from '../cancel';
import { PayloadTooLargeError, TaskStateConflictError, ValidationError } from '../errors';
import { storeResult } from '../payloads/storeResult';
import { payloadLimit } from '../payloads/storePayload';
import type { StateItem, TaskItem } from '../store/items';
import { ERROR_MESSAGE_LIMIT } from '../taskError';
import { clip } from '../text';
import { TERMINAL_STATUSES, type TaskError } from '../types';
import { enqueueStep, type StepToEnqueue } from './enqueueStep';
import { advanceCursor, finishWorkflow, joinMember, resumeAt, type WorkflowState } from './parentStore';
import { stepId } from './stepIds';
import { isWaitStep, ON_TIMEOUT_INDEX, type StepSpec, type WaitStepSpec, type WorkflowSpec } from './types';
import { waitTask } from './waitStep';
import { readWorkflow, resultJsonOf, stepStates, type LoadedWorkflow } from './workflowRead';

/**
 * The worker's hook (lib/worker.ts), called once a step's message is done
 * with: if the step has ended, its workflow moves on, with one conditional
 * write on the workflow's state (parentStore.ts), and the next step is
 * enqueued (idempotently: enqueueStep.ts). Called again for the same end (a
 * duplicate delivery, the message of a step whose worker crashed between its
 * outcome and this), it finds the workflow already moved and only makes sure
 * the next step was enqueued. Throws when DynamoDB or SQS cannot be reached:
 * the step's message then comes back, and this runs again.
 */
export async function advanceWorkflow(engine: Engine, step: TaskItem): Promise<void> {
  const mark = step.workflow;
  if (!mark || !('parentId' in mark)) return;
  const state = await engine.store.getState(step.taskId);
  if (!state || !TERMINAL_STATUSES.includes(state.status)) return;
  await stepEnded(engine, mark.parentId, mark.index, state);
}

/** Moves workflow `workflowId` on from the end of its step `index` (`state`, terminal). */
export async function stepEnded(engine: Engine, workflowId: string, index: number, state: StateItem): Promise<void> {
  const wf = await readWorkflow(engine, workflowId);
  if (!wf) return;
  // A wait's onTimeout step ends in its wait's place.
  if (wf.spec.kind === 'chain') await chainStepEnded(engine, wf, wf.spec.steps, index % ON_TIMEOUT_INDEX, state, index < ON_TIMEOUT_INDEX);
  else await groupStepEnded(engine, wf, wf.spec, index, state);
}

const isLive = (state: WorkflowState) => state.status === 'RUNNING' || state.status === 'WAITING';

async function chainStepEnded(engine: Engine, wf: LoadedWorkflow, steps: StepSpec[], index: number, state: StateItem, own = true): Promise<void> {
  const now = engine.now();
  if (!isLive(wf.state) || wf.state.stepAt !== index) return repairChain(engine, wf, steps, wf.state);
  const spec = steps[index]!;
  if (own && isWaitStep(spec) && spec.onTimeout && state.status === 'FAILED' && state.error?.type === 'SignalTimeout') return startOnTimeout(engine, wf, index, spec);
  if (state.status !== 'SUCCEEDED') {
    await finishWorkflow(engine.store, wf.id, wf.state.run, index, { status: state.status === 'CANCELLED' ? 'CANCELLED' : 'FAILED', error: stepError(index, nameOf(spec), state) }, now);
    return;
  }
  if (index === steps.length - 1) {
    const result = state.resultObject ? { resultObject: state.resultObject } : { resultJson: state.resultJson ?? 'null' };
    await finishWorkflow(engine.store, wf.id, wf.state.run, index, { status: 'SUCCEEDED', ...result }, now);
    return;
  }
  const next = steps[index + 1]!;
  const moved = await advanceCursor(engine.store, wf.id, wf.state.run, index, isWaitStep(next) ? 'WAITING' : 'RUNNING', now);
  if (!moved.applied) {
    // Another delivery of this end moved it first: it enqueues the next step; unless it crashed before, which the repair sees.
    if (moved.state) await repairChain(engine, wf, steps, moved.state);
    return;
  }
  await startChainStep(engine, wf, steps, index + 1, state);
}

/**
 * A chain that has moved to a step with no state yet may have lost that
 * step's enqueue (its worker crashed between the write and the send): it is
 * enqueued again, which is harmless if it was not lost.
 */
async function repairChain(engine: Engine, wf: LoadedWorkflow, steps: StepSpec[], current: WorkflowState): Promise<void> {
  const stepAt = current.stepAt ?? 0;
  if (!isLive(current) || current.run !== wf.state.run || stepAt === 0 || stepAt >= steps.length) return;
  const states = await stepStates(engine, wf.id, [stepAt - 1, stepAt, ON_TIMEOUT_INDEX + stepAt - 1]);
  // The step before ended, or its wait timed out and its onTimeout step ended in its place.
  const before = states.get(stepAt - 1)?.status === 'SUCCEEDED' ? states.get(stepAt - 1) : states.get(ON_TIMEOUT_INDEX + stepAt - 1);
  if (states.has(stepAt) || before?.status !== 'SUCCEEDED') return;
  await startChainStep(engine, { ...wf, state: current }, steps, stepAt, before);
}

/**
 * A wait with an onTimeout step timed out: the workflow is RUNNING again at
 * that step, and the onTimeout step is enqueued (idempotently: a later
 * delivery of the wait's end, or a repair, meets the same task); its end then
 * stands for the wait's.
 */
async function startOnTimeout(engine: Engine, wf: LoadedWorkflow, index: number, spec: WaitStepSpec): Promise<void> {
  const moved = await resumeAt(engine.store, wf.id, wf.state.run, index, engine.now());
  const current = moved.state;
  if (!current || !isLive(current) || current.stepAt !== index || current.run !== wf.state.run) return;
  const id = ON_TIMEOUT_INDEX + index;
  if (!moved.applied && (await stepStates(engine, wf.id, [id])).has(id)) return;
  const onTimeout = spec.onTimeout!;
  await startStep(engine, wf, id, index, { workflowId: wf.id, index: id, name: onTimeout.name, payload: onTimeout.payload ?? { signal: spec.waitFor, timeoutSeconds: spec.timeoutSeconds } });
}

/** Enqueues chain step `index`, with its own payload or the result of the step before (`before`); one that cannot take it ends the workflow FAILED. */
async function startChainStep(engine: Engine, wf: LoadedWorkflow, steps: StepSpec[], index: number, before: StateItem): Promise<void> {
  const spec = steps[index]!;
  const payload = isWaitStep(spec) ? { signal: spec.waitFor, timeoutSeconds: spec.timeoutSeconds } : (spec.payload ?? JSON.parse(await resultJsonOf(engine, before)));
  await startStep(engine, wf, index, index, { workflowId: wf.id, index, name: nameOf(spec), payload, ...(isWaitStep(spec) ? { delaySeconds: spec.timeoutSeconds } : {}) });
}

/** Enqueues a step; a payload its task refuses, or too large, ends the workflow FAILED (at chain step `at`) with why. */
async function startStep(engine: Engine, wf: LoadedWorkflow, index: number, at: number | undefined, step: StepToEnqueue): Promise<void> {
  try {
    await enqueueStep(engine, step);
    await cancelIfSweptPast(engine, wf, step.index);
  } catch (error) {
    if (!(error instanceof ValidationError || error instanceof PayloadTooLargeError)) throw error;
    const details = error instanceof ValidationError && Array.isArray(error.details) ? ` (${(error.details as Array<{ path: string; message: string }>).map((d) => `${d.path || 'payload'}: ${d.message}`).join('; ')})` : '';
    const message = clip(`Step ${index} (${step.name}) cannot take the payload it was given: ${error.message}${details}`, ERROR_MESSAGE_LIMIT);
    engine.logger.warn('Workflow failed: a step refused its payload', { workflowId: wf.id, index, error: message });
    await finishWorkflow(engine.store, wf.id, wf.state.run, at, { status: 'FAILED', error: { type: 'StepPayloadInvalid', message } }, engine.now());
  }
}

/**
 * A client's cancel sweeps the steps it finds, and cannot find one that is
 * being enqueued at that moment: a step enqueued for a workflow that is
 * CANCELLED by now is cancelled here (one read), so it never runs.
 */
async function cancelIfSweptPast(engine: Engine, wf: LoadedWorkflow, index: number): Promise<void> {
  const parent = await engine.store.getState(wf.id);
  if (parent?.status !== 'CANCELLED' || parent.run !== wf.state.run) return;
  await cancelTask(engine, stepId(wf.id, index)).catch((error: unknown) => {
    // It ended meanwhile (it ran first): nothing to cancel.
    if (!(error instanceof TaskStateConflictError)) throw error;
  });
}

async function groupStepEnded(engine: Engine, wf: LoadedWorkflow, spec: Extract<WorkflowSpec, { kind: 'group' }>, index: number, state: StateItem): Promise<void> {
  const now = engine.now();
  const size = spec.members.length;
  if (index === size) {
    // The fan-in step ended: so does the workflow, with its outcome.
    const outcome =
      state.status === 'SUCCEEDED'
        ? { status: 'SUCCEEDED' as const, ...(state.resultObject ? { resultObject: state.resultObject } : { resultJson: state.resultJson ?? 'null' }) }
        : { status: state.status === 'CANCELLED' ? ('CANCELLED' as const) : ('FAILED' as const), error: stepError(index, spec.then!.name, state) };
    await finishWorkflow(engine.store, wf.id, wf.state.run, undefined, outcome, now);
    return;
  }
  if (state.status !== 'SUCCEEDED' && !spec.allowFailures) {
    const error = stepError(index, spec.members[index]!.name, state, 'Member');
    await finishWorkflow(engine.store, wf.id, wf.state.run, undefined, { status: state.status === 'CANCELLED' ? 'CANCELLED' : 'FAILED', error }, now);
    return;
  }
  const joined = await joinMember(engine.store, wf.id, wf.state.run, index, now);
  const current = joined.state;
  if (!current || current.status !== 'RUNNING' || current.run !== wf.state.run || (current.joined?.size ?? 0) < size) return;
  // Every member has ended. The join that counted the last one goes on; a later delivery goes on only if it did not get far.
  if (!joined.applied && spec.then && (await stepStates(engine, wf.id, [size])).has(size)) return;
  await fanIn(engine, { ...wf, state: current }, spec);
}

/** Every member has ended: `then` runs with `{ results }` in member order (and `failed`, when failures are allowed), or the workflow ends with them. */
async function fanIn(engine: Engine, wf: LoadedWorkflow, spec: Extract<WorkflowSpec, { kind: 'group' }>): Promise<void> {
  const indexes = spec.members.map((_, i) => i);
  const states = await stepStates(engine, wf.id, indexes);
  // Sized before anything is read: a thousand results of megabytes each would not fit the worker's memory, nor one payload.
  const bytes = [...states.values()].reduce((sum, state) => sum + (state.status !== 'SUCCEEDED' ? 0 : (state.resultObject?.bytes ?? state.resultJson?.length ?? 4)), 0);
  const limit = payloadLimit(engine);
  if (bytes > limit) {
    const name = spec.then?.name ?? 'workflow';
    const message = `Step ${spec.members.length} (${name}) cannot take the payload it was given: the members' results are ${bytes} bytes in all; the limit is ${limit}`;
    engine.logger.warn('Workflow failed: its members\' results are too large to fan in', { workflowId: wf.id, bytes, limit });
    await finishWorkflow(engine.store, wf.id, wf.state.run, undefined, { status: 'FAILED', error: { type: 'StepPayloadInvalid', message } }, engine.now());
    return;
  }
  const results: unknown[] = [];
  const failed: Array<{ index: number; taskId: string; error: TaskError }> = [];
  for (const i of indexes) {
    const state = states.get(i);
    if (state?.status === 'SUCCEEDED') results.push(JSON.parse(await resultJsonOf(engine, state)));
    else {
      results.push(null);
      failed.push({ index: i, taskId: stepId(wf.id, i), error: state?.error ?? { type: 'StepFailed', message: `Member ${i} ended ${state?.status ?? 'without a state'}` } });
    }
  }
  const payload = spec.allowFailures ? { results, failed } : { results };
  if (spec.then) {
    const size = spec.members.length;
    await startStep(engine, wf, size, undefined, { workflowId: wf.id, index: size, name: spec.then.name, payload: spec.then.payload ?? payload });
    return;
  }
  const stored = await storeResult(engine, wf.state, payload);
  if (!stored.ok) throw new Error(stored.error.message);
  await finishWorkflow(engine.store, wf.id, wf.state.run, undefined, { status: 'SUCCEEDED', ...stored.result }, engine.now());
}

/** The task a step runs under: its own, or the internal one of a waiting step. */
export function nameOf(step: StepSpec): string {
  return isWaitStep(step) ? waitTask.name : step.name;
}

function stepError(index: number, name: string, state: StateItem, label = 'Step'): TaskError {
  const verb = state.status === 'CANCELLED' ? 'was cancelled' : 'failed';
  // A client's cancel of the step leaves no error of its own.
  if (!state.error) return { type: state.status === 'CANCELLED' ? 'TaskCancelled' : 'StepFailed', message: `${label} ${index} (${name}) ${verb}` };
  return { type: state.error.type, message: clip(`${label} ${index} (${name}) ${verb}: ${state.error.message}`, ERROR_MESSAGE_LIMIT) };
}
