// Workflows (docs/workflows.md): chains, groups with a fan-in, and steps that wait for a signal.
export { chain, group, waitFor, isWorkflow, type Workflow, type WaitStep, type TaskStep } from './define';
export { enqueueWorkflow, type EnqueuedWorkflow } from './start';
export { signalWorkflow, type SignalOutcome } from './signal';
export { SignalNotExpectedError } from './errors';
export { WORKFLOW_LIMITS, WORKFLOW_TASK_NAME, type WorkflowSpec, type StepSpec, type StepView } from './types';
