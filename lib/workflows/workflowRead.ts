import type { Engine } from '../engine';
import { batchGet, keyString } from '../store/dynamo';
import { stateKey, type StateItem, type TaskItem } from '../store/items';
import type { WorkflowState } from './parentStore';
import { stepId } from './stepIds';
import type { WorkflowSpec } from './types';

/** A workflow as its advance needs it: its definition (written once) and its state, read consistently. */
export interface LoadedWorkflow {
  id: string;
  task: TaskItem;
  spec: WorkflowSpec;
  state: WorkflowState;
}

/** Reads a workflow, or undefined when `id` names none (or no longer: expired). */
export async function readWorkflow(engine: Engine, id: string): Promise<LoadedWorkflow | undefined> {
  const [loaded, state] = await Promise.all([engine.store.load([id]), engine.store.getState(id)]);
  const definition = loaded.get(id);
  if (!definition?.task.workflow || !('kind' in definition.task.workflow) || !state || definition.payloadJson === undefined) return undefined;
  return { id, task: definition.task, spec: JSON.parse(definition.payloadJson) as WorkflowSpec, state: state as WorkflowState };
}

/** The states of steps `indexes` of a workflow, by index (a step never started has none). */
export async function stepStates(engine: Engine, workflowId: string, indexes: number[], consistent = true): Promise<Map<number, StateItem>> {
  const keys = indexes.map((i) => stateKey(stepId(workflowId, i)));
  const found = await batchGet(engine.store.client, engine.store.tableName, keys, consistent);
  const states = new Map<number, StateItem>();
  indexes.forEach((index, i) => {
    const item = found.get(keyString(keys[i]!));
    if (item) states.set(index, item as unknown as StateItem);
  });
  return states;
}

/** A step's result, as JSON: from its state, or from S3 when it was kept there (lib/payloads). */
export async function resultJsonOf(engine: Engine, state: StateItem): Promise<string> {
  if (state.resultObject === undefined) return state.resultJson ?? 'null';
  const json = await engine.objects?.get(state.resultObject.key);
  if (json === undefined) throw new Error(`The result of task ${state.taskId} kept in S3 (${state.resultObject.key}) could not be read`);
  return json;
}
