import type { TaskStatus } from '../types';

/** What a workflow is made of, as its record keeps it (the parent's payload) and as POST /workflows takes it. */

/** A step that runs a task: its payload, or (after the first step of a chain) the previous step's result. */
export interface TaskStepSpec {
  name: string;
  payload?: unknown;
}

/** A step that waits for a signal (POST /tasks/{id}/signal): its data is the next step's payload. */
export interface WaitStepSpec {
  waitFor: string;
  timeoutSeconds: number;
  /** Runs if no signal comes in time: its result is then the next step's payload (without one, the timeout fails the workflow). */
  onTimeout?: TaskStepSpec;
}

/** A waiting step's onTimeout step has the index of its wait plus this (stepIds.ts): a task of its own, idempotent like every step. */
export const ON_TIMEOUT_INDEX = 10_000;

export type StepSpec = TaskStepSpec | WaitStepSpec;

export type WorkflowSpec =
  | { kind: 'chain'; steps: StepSpec[] }
  | { kind: 'group'; members: TaskStepSpec[]; then?: TaskStepSpec; allowFailures: boolean };

export type WorkflowKind = WorkflowSpec['kind'];

/**
 * The mark a workflow leaves on a task's definition (written once, by the
 * enqueue): the parent's kind, or which workflow and step a task is. The
 * worker's hook looks at nothing else, so a task that is no step costs nothing.
 */
export type WorkflowMark = { kind: WorkflowKind } | { parentId: string; index: number };

/** One step as GET /tasks/{id} shows it on a workflow. */
export interface StepView {
  index: number;
  taskId: string;
  name: string;
  status: TaskStatus;
  /** The signal a waiting step waits for. */
  waitFor?: string;
}

export const isWaitStep = (step: StepSpec): step is WaitStepSpec => 'waitFor' in step;

/** The task name of a workflow's own record (the parent): reserved, nothing runs under it. */
export const WORKFLOW_TASK_NAME = 'workflow';

/** Bounds a workflow's definition is checked against. */
export const WORKFLOW_LIMITS = {
  chainSteps: 100,
  groupMembers: 1_000,
  /** The whole definition, payloads included, as JSON: it lives in the table. */
  specBytes: 256 * 1024,
  /** A signal's data, kept as the waiting step's result in its state item. */
  signalBytes: 64 * 1024,
} as const;

/** The internal task a waiting step is (lib/workflows/waitStep.ts): not a step a client may name. */
export const WAIT_TASK_NAME_RESERVED = 'workflow.wait';
