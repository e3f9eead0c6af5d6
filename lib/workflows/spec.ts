import { UnknownTaskError, PayloadTooLargeError, ValidationError } from '../errors';
import { issuesOf, validatePayload } from '../preparedTask';
import { getTask, TASK_LIMITS } from '../task';
import { byteLength } from '../text';
import * as z from '../zod';
import { isWaitStep, WAIT_TASK_NAME_RESERVED, WORKFLOW_LIMITS, WORKFLOW_TASK_NAME, type WorkflowSpec } from './types';

const Name = z.string().check(z.minLength(1), z.maxLength(128));
const TaskStep = z.strictObject({ name: Name, payload: z.optional(z.unknown()) });
const WaitStep = z.strictObject({
  waitFor: z.string().check(z.minLength(1), z.maxLength(128)),
  timeoutSeconds: z.int().check(z.minimum(1), z.maximum(TASK_LIMITS.maxDelaySeconds)),
  onTimeout: z.optional(TaskStep),
});

/** POST /workflows: a chain, or a group with its fan-in. */
export const ChainBody = z.strictObject({ chain: z.array(z.union([TaskStep, WaitStep])).check(z.minLength(1), z.maxLength(WORKFLOW_LIMITS.chainSteps)) });
export const GroupBody = z.strictObject({
  group: z.array(TaskStep).check(z.minLength(1), z.maxLength(WORKFLOW_LIMITS.groupMembers)),
  then: z.optional(TaskStep),
  allowFailures: z.optional(z.boolean()),
});
export const WorkflowBody = z.union([ChainBody, GroupBody]);

/** A request body as a workflow's definition; throws the ValidationError a client should see. */
export function specOfBody(body: unknown): WorkflowSpec {
  const parsed = z.safeParse(WorkflowBody, body);
  if (!parsed.success) throw new ValidationError('Invalid workflow request: {"chain": [...]} or {"group": [...], "then"?}', issuesOf(parsed.error));
  const data = parsed.data;
  if ('chain' in data) return { kind: 'chain', steps: data.chain };
  return { kind: 'group', members: data.group, ...(data.then ? { then: data.then } : {}), allowFailures: data.allowFailures ?? false };
}

const NOT_GIVEN = Symbol('not given');

/** A task step: its task known (and not reserved), and its payload, when it is known now, accepted by its schema. */
function checkTaskStep(step: { name: string }, index: number, payload: unknown): void {
  if (step.name === WORKFLOW_TASK_NAME || step.name === WAIT_TASK_NAME_RESERVED) throw new UnknownTaskError(step.name);
  const task = getTask(step.name);
  if (!task) throw new UnknownTaskError(step.name);
  if (payload === NOT_GIVEN) return;
  try {
    validatePayload(task, payload);
  } catch (error) {
    if (error instanceof ValidationError) throw new ValidationError(`Step ${index} (${step.name}): ${error.message}`, error.details);
    throw error;
  }
}

/**
 * Checks a workflow before anything is written: every task known, every
 * payload given checked by its task's schema, the counts and size within
 * bounds. A payload that comes from the step before is checked when that
 * step has ended (a mismatch then fails the workflow). Returns its JSON.
 */
export function checkSpec(spec: WorkflowSpec): string {
  const steps = spec.kind === 'chain' ? spec.steps : [...spec.members, ...(spec.then ? [spec.then] : [])];
  const limit = spec.kind === 'chain' ? WORKFLOW_LIMITS.chainSteps : WORKFLOW_LIMITS.groupMembers + 1;
  if (steps.length === 0 || steps.length > limit) throw new ValidationError(`A workflow has 1 to ${limit} steps; this one has ${steps.length}`);
  const waits = new Set<string>();
  steps.forEach((step, index) => {
    if (isWaitStep(step)) {
      // A signal is known by its name: one sent again (after a 503) must never end a later wait.
      if (waits.has(step.waitFor)) throw new ValidationError('Invalid workflow', [{ path: `steps.${index}.waitFor`, message: `"${step.waitFor}" is waited for by an earlier step: each wait needs a name of its own` }]);
      waits.add(step.waitFor);
      if (!(Number.isInteger(step.timeoutSeconds) && step.timeoutSeconds >= 1 && step.timeoutSeconds <= TASK_LIMITS.maxDelaySeconds)) {
        throw new ValidationError('Invalid workflow', [{ path: `steps.${index}.timeoutSeconds`, message: `an integer from 1 to ${TASK_LIMITS.maxDelaySeconds}` }]);
      }
      if (step.onTimeout) checkTaskStep(step.onTimeout, index, step.onTimeout.payload ?? { signal: step.waitFor, timeoutSeconds: step.timeoutSeconds });
      return;
    }
    // A group member always has its payload (null when none is given); a chain's step after the first takes the result before it.
    const given = step.payload !== undefined || spec.kind === 'group' || index === 0;
    const checked = given && !(spec.kind === 'group' && step === spec.then && step.payload === undefined);
    checkTaskStep(step, index, checked ? (step.payload ?? null) : NOT_GIVEN);
  });
  const json = JSON.stringify(spec);
  const bytes = byteLength(json);
  if (bytes > WORKFLOW_LIMITS.specBytes) throw new PayloadTooLargeError(bytes, WORKFLOW_LIMITS.specBytes);
  return json;
}
