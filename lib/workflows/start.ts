import { stopUnstarted } from '../compensation';
import { expiresAtFrom } from '../config';
import { resolving } from '../deadline';
import type { Engine } from '../engine';
import { newTaskId } from '../keys';
import { storePayloads } from '../payloads/storePayload';
import { prepareTask, type PreparedTask } from '../preparedTask';
import { sendFirstRuns } from '../schedules/dispatch';
import { newTaskItems, toRecord, type NewTask } from '../store/items';
import type { TaskRecord } from '../types';
import { nameOf } from './advance';
import { createParentState, finishWorkflow } from './parentStore';
import { checkSpec } from './spec';
import { stepId } from './stepIds';
import { isWaitStep, WORKFLOW_TASK_NAME, type StepSpec, type WorkflowSpec } from './types';

/** A workflow just enqueued: its id (a task id: GET /tasks/{id} reads it) and its record. */
export interface EnqueuedWorkflow {
  taskId: string;
  record: TaskRecord;
}

/**
 * Enqueues a workflow: checks it whole (tasks, payloads given, bounds), then
 * writes its record (RUNNING, or WAITING if it starts with a wait) and
 * enqueues its first steps: a chain's first, or every member of a group. If
 * those cannot all be enqueued, the ones not yet claimed are stopped: the
 * workflow ends CANCELLED and the error is thrown (nothing runs), or, if a
 * worker had already claimed one, it ends FAILED (`EnqueueFailed`) and is
 * answered as accepted, as enqueue does (a claimed task is never taken back).
 */
export async function enqueueWorkflow(engine: Engine, spec: WorkflowSpec, workflowId = newTaskId()): Promise<EnqueuedWorkflow> {
  const specJson = checkSpec(spec);
  const now = engine.now();
  const first: StepSpec[] = spec.kind === 'chain' ? [spec.steps[0]!] : spec.members;
  // Every first step is checked before anything is written: a refused payload is a 400 that leaves nothing behind.
  const steps = first.map((step, index) => prepareStep(engine, workflowId, index, step));
  const parent: NewTask = {
    taskId: workflowId,
    name: WORKFLOW_TASK_NAME,
    payload: spec,
    priority: 'default',
    maxAttempts: 1,
    timeoutSeconds: 1,
    createdAt: now.toISOString(),
    workflow: { kind: spec.kind },
    // Its retention from its start, and every wait's timeout on top: the record outlasts its longest possible run's waits.
    expiresAt: expiresAtFrom(now, engine.config.retentionDays) + waitSeconds(spec),
  };
  const parentItems = newTaskItems(parent, specJson, Buffer.byteLength(specJson));
  const status = spec.kind === 'chain' && isWaitStep(spec.steps[0]!) ? 'WAITING' : 'RUNNING';
  await Promise.all([engine.store.create(parentItems), createParentState(engine.store, parentItems.task, status, now, spec.kind)]);

  const uploads = await storePayloads(engine, steps.map((p) => ({ taskId: p.task.taskId, payloadJson: p.payloadJson, payloadBytes: p.payloadBytes })));
  const ready = uploads.failures.size > 0 ? [] : steps;
  const [writeFailures, sendFailures] = await Promise.all([
    engine.store.createMany(ready.map((p) => newTaskItems(p.task, p.payloadJson, p.payloadBytes, uploads.keys.get(p.task.taskId)))),
    sendFirstRuns(engine, ready.map((p) => p.task)),
  ]);
  const failure = uploads.failures.values().next().value ?? writeFailures.values().next().value ?? sendFailures.values().next().value;
  for (const p of steps) p.span.end(failure ? { ok: false, error: failure } : { ok: true, taskId: p.task.taskId, created: true });
  if (failure) return stopWorkflow(engine, workflowId, steps, failure);
  engine.logger.info('Workflow enqueued', { workflowId, kind: spec.kind, steps: spec.kind === 'chain' ? spec.steps.length : spec.members.length });
  return { taskId: workflowId, record: (await engine.store.get(workflowId)) ?? toRecord(parentItems.task, undefined, specJson) };
}

/** How long a workflow's waits may hold it, at most: it is kept that much longer than its retention. */
export function waitSeconds(spec: WorkflowSpec): number {
  return spec.kind === 'chain' ? spec.steps.reduce((total, step) => total + (isWaitStep(step) ? step.timeoutSeconds : 0), 0) : 0;
}

function prepareStep(engine: Engine, workflowId: string, index: number, step: StepSpec): PreparedTask {
  const payload = isWaitStep(step) ? { signal: step.waitFor, timeoutSeconds: step.timeoutSeconds } : (step.payload ?? null);
  const prepared = prepareTask(engine, nameOf(step), payload, isWaitStep(step) ? { delaySeconds: step.timeoutSeconds } : {}, stepId(workflowId, index));
  prepared.task.workflow = { parentId: workflowId, index };
  return prepared;
}

/** Some first step could not be enqueued: every one not claimed is stopped, and the workflow ends (see enqueueWorkflow). */
async function stopWorkflow(engine: Engine, workflowId: string, steps: PreparedTask[], failure: Error): Promise<EnqueuedWorkflow> {
  const resolutions = await resolving(() => Promise.all(steps.map((p) => stopUnstarted(engine, p.task, 1, failure))));
  const started = resolutions.some((r) => r.outcome === 'started');
  const error = { type: 'EnqueueFailed', message: `A first step could not be enqueued: ${failure.message}`.slice(0, 1000) };
  await resolving(() => finishWorkflow(engine.store, workflowId, 1, undefined, { status: started ? 'FAILED' : 'CANCELLED', error }, engine.now()));
  if (!started) throw failure;
  engine.logger.error('Workflow ended FAILED: a first step could not be enqueued, and another had already started', { workflowId });
  return { taskId: workflowId, record: (await engine.store.get(workflowId))! };
}
