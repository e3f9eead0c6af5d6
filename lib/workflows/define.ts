import type { TaskDefinition, TaskWithPayload } from '../task';
import type { StepSpec, TaskStepSpec, WorkflowSpec } from './types';

/** A workflow built in code, for enqueue(): what POST /workflows takes, made from task definitions. */
export interface Workflow {
  readonly '~workflow': WorkflowSpec;
}

/** A step that waits for a signal: see waitFor. */
export interface WaitStep {
  readonly waitFor: string;
  readonly timeoutSeconds: number;
  readonly onTimeout?: TaskStep;
}

/** A step of a chain or group: a task (its payload then comes from the step before) or a task with its payload. */
export type TaskStep = TaskDefinition | TaskWithPayload;

function taskStep(step: TaskStep): TaskStepSpec {
  if ('task' in step) return { name: step.task.name, payload: step.payload };
  return { name: step.name };
}

/**
 * Runs `steps` one after the other: each task step receives the result of
 * the one before as its payload, unless it was given one (`task.with(payload)`).
 * A step that fails stops the chain; the workflow ends FAILED.
 */
export function chain(...steps: Array<TaskStep | WaitStep>): Workflow {
  const spec: StepSpec[] = steps.map((s) =>
    'waitFor' in s && typeof s.waitFor === 'string'
      ? { waitFor: s.waitFor, timeoutSeconds: s.timeoutSeconds, ...(s.onTimeout ? { onTimeout: taskStep(s.onTimeout) } : {}) }
      : taskStep(s as TaskStep),
  );
  return { '~workflow': { kind: 'chain', steps: spec } };
}

/**
 * Runs `members` in parallel; once every one has ended, `then` runs once with
 * `{ results }` in member order. A member that fails fails the group, unless
 * `allowFailures` (then its result is null, and `failed` lists it).
 */
export function group(members: TaskStep[], options: { then?: TaskDefinition | TaskWithPayload; allowFailures?: boolean } = {}): Workflow {
  return {
    '~workflow': { kind: 'group', members: members.map(taskStep), ...(options.then ? { then: taskStep(options.then) } : {}), allowFailures: options.allowFailures ?? false },
  };
}

/**
 * A chain step that pauses the workflow (WAITING) until POST /tasks/{id}/signal
 * sends `signal`, or `timeoutSeconds` pass: it then ends FAILED, or, with
 * `onTimeout`, that step runs (with its payload, or `{ signal, timeoutSeconds }`)
 * and the chain goes on with its result.
 */
export function waitFor(signal: string, options: { timeoutSeconds: number; onTimeout?: TaskStep }): WaitStep {
  return { waitFor: signal, timeoutSeconds: options.timeoutSeconds, ...(options.onTimeout ? { onTimeout: options.onTimeout } : {}) };
}

export function isWorkflow(value: unknown): value is Workflow {
  return typeof value === 'object' && value !== null && '~workflow' in value;
}
