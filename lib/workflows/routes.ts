import type { Engine } from '../engine';
import { ValidationError } from '../errors';
import { issuesOf } from '../preparedTask';
import { jsonBody } from '../http/request';
import { json } from '../http/response';
import type { Route } from '../http/router';
import type { ParameterDoc } from '../http/routeDoc';
import { described, TaskAccepted, TaskId } from '../http/schemas';
import { isTaskId } from '../keys';
import { TaskNotFoundError } from '../errors';
import * as z from '../zod';
import { signalWorkflow } from './signal';
import { specOfBody, WorkflowBody } from './spec';
import { enqueueWorkflow } from './start';
import { WORKFLOW_LIMITS } from './types';

const BODY_LIMIT = WORKFLOW_LIMITS.specBytes + 1024;
const SignalBody = z.strictObject({
  name: described(z.string().check(z.minLength(1), z.maxLength(128)), 'The signal: the name a waitFor step waits for.'),
  data: described(z.optional(z.unknown()), `Any JSON (up to ${WORKFLOW_LIMITS.signalBytes / 1024} KB): the next step's payload.`),
});
const SignalAccepted = z.object({ taskId: TaskId, status: z.string(), statusUrl: z.string(), repeated: described(z.boolean(), 'The workflow had already taken this signal: nothing changed.') });
z.globalRegistry.add(SignalAccepted, { id: 'SignalAccepted' });
z.globalRegistry.add(WorkflowBody, { id: 'WorkflowRequest', description: 'A chain (steps one after another, each taking the result before it unless given a payload), or a group (members in parallel) with an optional fan-in.' });

const idParam: Record<string, ParameterDoc> = { id: { description: 'The workflow\'s task id, as POST /workflows answered it.', schema: TaskId } };
const statusUrl = (taskId: string) => `/tasks/${taskId}`;

/** POST /workflows and POST /tasks/{id}/signal (docs/workflows.md). */
export function workflowRoutes(engine: Engine): Route[] {
  return [
    {
      method: 'POST',
      path: '/workflows',
      doc: {
        operationId: 'enqueueWorkflow',
        tag: 'workflows',
        summary: 'Enqueue a workflow: a chain, or a group with a fan-in',
        description:
          `{"chain": [{name, payload?} | {waitFor, timeoutSeconds}, ...]} runs steps one after another (up to ${WORKFLOW_LIMITS.chainSteps}); ` +
          `{"group": [{name, payload}, ...], "then"?: {name}, "allowFailures"?: bool} runs up to ${WORKFLOW_LIMITS.groupMembers} members in parallel, then \`then\` once with {results}. ` +
          'Every task and every payload given is checked by its schema before anything runs. GET /tasks/{taskId} shows the workflow and its steps.',
        body: WorkflowBody,
        responses: {
          202: { description: 'Accepted: the workflow is recorded and its first steps queued.', schema: TaskAccepted, headers: { Location: 'The workflow\'s status URL.' } },
          400: { description: 'Bad JSON, an unknown task (`unknown_task`) or a payload its schema refuses (`validation_error`).' },
          413: { description: `The workflow is over ${WORKFLOW_LIMITS.specBytes} bytes as JSON, or a step's payload over its limit (\`payload_too_large\`).` },
          503: { description: 'SQS or DynamoDB is unavailable (`service_unavailable`): nothing runs.' },
        },
      },
      handle: async (req) => {
        const { taskId, record } = await enqueueWorkflow(engine, specOfBody(jsonBody(req, BODY_LIMIT)));
        return json(202, { taskId, status: record.status, statusUrl: statusUrl(taskId) }, { location: statusUrl(taskId) });
      },
    },
    {
      method: 'POST',
      path: '/tasks/{id}/signal',
      doc: {
        operationId: 'signalTask',
        tag: 'workflows',
        summary: 'Send a signal to a workflow that waits for it',
        description: 'Ends the waitFor step waiting for `name`: its `data` is the next step\'s payload. A repeated signal is harmless (202, repeated: true).',
        params: idParam,
        body: SignalBody,
        responses: {
          202: { description: 'The signal was taken (or had been: repeated).', schema: SignalAccepted },
          400: { description: 'A body without a signal name, or data the next step\'s schema refuses (`validation_error`): the workflow keeps waiting.' },
          404: { description: 'No task with that id (`task_not_found`).' },
          409: { description: 'The task is not waiting for that signal: not a workflow, another name, its wait timed out, or it is over (`invalid_state`).' },
          413: { description: `The data is over ${WORKFLOW_LIMITS.signalBytes} bytes (\`payload_too_large\`).` },
          503: { description: 'DynamoDB or SQS is unavailable (`service_unavailable`): send it again.' },
        },
      },
      handle: async (req) => {
        const id = req.params.id ?? '';
        if (!isTaskId(id)) throw new TaskNotFoundError(id.slice(0, 64));
        const parsed = z.safeParse(SignalBody, jsonBody(req, BODY_LIMIT));
        if (!parsed.success) throw new ValidationError('Invalid signal: {"name": "...", "data"?: ...}', issuesOf(parsed.error));
        const { record, repeated } = await signalWorkflow(engine, id, parsed.data.name, parsed.data.data);
        return json(202, { taskId: id, status: record.status, statusUrl: statusUrl(id), repeated });
      },
    },
  ];
}
