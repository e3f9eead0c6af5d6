import type { Engine } from '../engine';
import { prepareTask } from '../preparedTask';
import { storePayload } from '../payloads/storePayload';
import { sendRun } from '../schedules/dispatch';
import { newTaskItems } from '../store/items';
import { stepId } from './stepIds';

/** What a step needs to be enqueued: its task and payload, and, for a waiting step, when it times out. */
export interface StepToEnqueue {
  workflowId: string;
  index: number;
  name: string;
  payload: unknown;
  delaySeconds?: number;
}

/**
 * Enqueues step `index` of a workflow, idempotently: its task id comes from
 * the workflow's and the index (stepIds.ts), its definition is written only
 * if absent, and its message may go out more than once (the claim runs the
 * step once). So a repair after a crash, or two deliveries of the step
 * before it, never make a second task. Throws a ValidationError when the
 * payload does not fit the task's schema, a PayloadTooLargeError over the
 * limit (the caller fails the workflow with it), or what DynamoDB or SQS
 * answered (the caller's message then comes back and does it again).
 */
export async function enqueueStep(engine: Engine, step: StepToEnqueue): Promise<string> {
  const taskId = stepId(step.workflowId, step.index);
  const prepared = prepareTask(engine, step.name, step.payload, step.delaySeconds ? { delaySeconds: step.delaySeconds } : {}, taskId);
  prepared.task.workflow = { parentId: step.workflowId, index: step.index };
  await prepared.span.during(async () => {
    // A payload kept in S3 has a key of the task's: written again, it is the same object.
    const payloadObject = await storePayload(engine, taskId, prepared);
    await Promise.all([engine.store.create(newTaskItems(prepared.task, prepared.payloadJson, prepared.payloadBytes, payloadObject)), sendRun(engine, prepared.task, 1)]);
    return { taskId, created: true };
  });
  return taskId;
}
