import { TaskStateConflictError } from '../errors';
import type { Engine } from '../engine';
import { newTaskId } from '../keys';
import { cancelWorkflow } from './cancelWorkflow';
import type { Workflow } from './define';
import { checkSpec } from './spec';
import { enqueueWorkflow } from './start';

/** A workflow added to a handler's background tasks: its id is known at once, and it is checked then. */
export interface AddedWorkflow {
  taskId: string;
  workflow: Workflow;
}

/** Checks a workflow as `backgroundTasks.add(chain(...))` is called, and fixes its id. */
export function addWorkflow(workflow: Workflow): AddedWorkflow {
  checkSpec(workflow['~workflow']);
  return { taskId: newTaskId(), workflow };
}

/**
 * Enqueues the workflows a handler added, all or nothing: if one cannot be
 * enqueued, those that were are cancelled (a step a worker already runs is
 * asked to stop) and the error is thrown. Returns how to cancel them all, for
 * when the handler's other tasks cannot be enqueued.
 */
export async function enqueueAddedWorkflows(engine: Engine, added: AddedWorkflow[]): Promise<() => Promise<void>> {
  const done: string[] = [];
  const undo = async () => {
    await Promise.all(
      done.map((id) =>
        cancelWorkflow(engine, id).catch((error: unknown) => {
          // Ended already (its one step ran): nothing left to stop.
          if (!(error instanceof TaskStateConflictError)) throw error;
        }),
      ),
    );
  };
  for (const { taskId, workflow } of added) {
    try {
      await enqueueWorkflow(engine, workflow['~workflow'], taskId);
      done.push(taskId);
    } catch (error) {
      await undo();
      throw error;
    }
  }
  return undo;
}
