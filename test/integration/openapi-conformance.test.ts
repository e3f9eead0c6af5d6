import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import openapi from '../../lib/build/openapiDocument.cjs';
import type { Engine } from '../../lib/engine';
import { call, testApi } from '../support/api';
import { createTestEngine, siblingEngine, startLocalAws, type LocalAws } from '../support/aws';
import { claimById, runUntilTerminal } from '../support/drive';
import type { ApiEventInit } from '../support/events';
import { expectErrorLogs } from '../support/logs';
import { conformance } from '../support/openapi';

/**
 * Every answer a test can provoke from the api handler, on real dynalite and
 * local-aws-sqs, checked against the OpenAPI document: its status is one the
 * route documents, its body matches the schema there, its documented headers
 * are sent. DynamoDB "down" (every call refused by the fault kit) gives the 503s.
 */
let aws: LocalAws;
let engine: Engine;
let api: ReturnType<typeof testApi>;
const doc = openapi.buildOpenApiDocument();
const checker = conformance(doc);
const ID = '01ARZ3NDEKTSV4RRFFQ69G5FAV';

beforeAll(async () => {
  aws = await startLocalAws();
  engine = await createTestEngine(aws);
  api = testApi(engine);
});
afterAll(async () => aws.close());

/** Calls `on` and checks the answer against the route `template`; returns the body. */
async function answer(on: typeof api, method: string, template: string, path: string, init: ApiEventInit = {}) {
  const res = await call(on, method, path, init);
  checker.check(method, template, { status: res.status, headers: res.headers, body: res.body });
  return res;
}
const ask = (method: string, template: string, path = template, init: ApiEventInit = {}) => answer(api, method, template, path, init);
const enqueueBody = (message: string) => ({ name: 'write_log', payload: { message } });

/** A second engine on the same table and queues whose DynamoDB client refuses every call. */
function dynamoDown(): typeof api {
  const sibling = siblingEngine(aws, engine);
  for (const command of ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'BatchGetItem', 'BatchWriteItem', 'TransactWriteItems', 'TransactGetItems']) {
    sibling.dynamo.add({ command, effect: 'fail' });
  }
  return testApi(sibling.engine);
}

describe('every route answers as the OpenAPI document says', () => {
  it('200 and 202: health, this document, enqueue, batch, list, stats, read, cancel, retry, the seed route', async () => {
    expectErrorLogs('Task failed'); // the `fail` task, run to FAILED so that it can be retried
    await ask('GET', '/health', '/health', { apiKey: null });
    await ask('GET', '/openapi.json', '/openapi.json', { apiKey: null });
    const { body } = await ask('POST', '/tasks', '/tasks', { body: enqueueBody('hi'), headers: { 'idempotency-key': 'conf-1' } });
    await ask('POST', '/tasks/batch', '/tasks/batch', { body: { tasks: [enqueueBody('a'), { name: 'nope', payload: {} }] } });
    await ask('GET', '/tasks', '/tasks', { query: { limit: '5' } });
    await ask('GET', '/stats');
    const sent = await ask('POST', '/send-notification', '/send-notification', { query: { email: 'a@example.com' } });
    const failing = await ask('POST', '/tasks', '/tasks', { body: { name: 'fail', payload: { message: 'no' }, maxAttempts: 1 } });
    await runUntilTerminal(engine, aws, [sent.body!.taskId, failing.body!.taskId]);
    await ask('GET', '/tasks/{id}', `/tasks/${sent.body!.taskId}`); // SUCCEEDED, with its result
    await ask('GET', '/tasks/{id}', `/tasks/${failing.body!.taskId}`); // FAILED, with its error
    await ask('POST', '/tasks/{id}/retry', `/tasks/${failing.body!.taskId}/retry`);
    await ask('DELETE', '/tasks/{id}', `/tasks/${body!.taskId}`);
    await ask('GET', '/schedules');
    await ask('POST', '/schedules/{name}/pause', '/schedules/daily_report/pause');
    await ask('POST', '/schedules/{name}/resume', '/schedules/daily_report/resume');
    // A task a day ahead: SCHEDULED, with its runAt.
    const later = await ask('POST', '/tasks', '/tasks', { body: { ...enqueueBody('later'), delaySeconds: 86_400 } });
    await ask('GET', '/tasks/{id}', `/tasks/${later.body!.taskId}`);
    // A debounced enqueue, and the cancel of a running task (202: asked to stop), with its record.
    const debounced = await ask('POST', '/tasks', '/tasks', { body: { name: 'sleep', payload: { ms: 1 }, debounce: { key: 'conf', seconds: 60 } } });
    await ask('GET', '/tasks/{id}', `/tasks/${debounced.body!.taskId}`);
    const running = await ask('POST', '/tasks', '/tasks', { body: { name: 'sleep', payload: { ms: 1 } } });
    await claimById(engine, running.body!.taskId, new Date(), 60_000);
    expect((await ask('DELETE', '/tasks/{id}', `/tasks/${running.body!.taskId}`)).status).toBe(202);
    await ask('GET', '/tasks/{id}', `/tasks/${running.body!.taskId}`);
    // A workflow waiting for a signal, with its steps, and the signal that resumes it.
    const workflow = await ask('POST', '/workflows', '/workflows', { body: { chain: [{ waitFor: 'go', timeoutSeconds: 600 }, { name: 'double' }] } });
    await ask('GET', '/tasks/{id}', `/tasks/${workflow.body!.taskId}`);
    await ask('POST', '/tasks/{id}/signal', `/tasks/${workflow.body!.taskId}/signal`, { body: { name: 'go', data: { n: 1 } } });
    // Its waiting step, ended by the signal: a task of the engine's own, with the signal's data as its result.
    const { steps } = (await ask('GET', '/tasks/{id}', `/tasks/${workflow.body!.taskId}`)).body as unknown as { steps: Array<{ taskId: string }> };
    await ask('GET', '/tasks/{id}', `/tasks/${steps[0]!.taskId}`);
    await ask('POST', '/workflows', '/workflows', { body: { group: [{ name: 'double', payload: { n: 1 } }], then: { name: 'sum' } } });
  });

  it('400: bad JSON, a payload the schema refuses, a bad query, a batch with nothing accepted, no email', async () => {
    await ask('POST', '/tasks', '/tasks', { body: '{"name":' });
    await ask('POST', '/tasks', '/tasks', { body: { name: 'write_log', payload: { message: 42 } } });
    await ask('GET', '/tasks', '/tasks', { query: { limit: '0' } });
    await ask('POST', '/tasks/batch', '/tasks/batch', { body: { tasks: [{ name: 'nope', payload: {} }] } });
    await ask('POST', '/tasks/batch', '/tasks/batch', { body: { tasks: [] } });
    await ask('POST', '/send-notification', '/send-notification', { query: { email: 'nope' } });
    await ask('POST', '/workflows', '/workflows', { body: { chain: [{ name: 'double', payload: { n: 'x' } }] } });
    await ask('POST', '/tasks/{id}/signal', `/tasks/${ID}/signal`, { body: { data: 1 } });
  });

  it('401 on every route behind the key, with WWW-Authenticate', async () => {
    for (const [method, template] of Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).filter(([, op]) => !op.security).map(([m]) => [m.toUpperCase(), path] as const))) {
      const res = await ask(method, template, template.replace('{id}', ID), { apiKey: 'wrong' });
      expect(res.status, `${method} ${template}`).toBe(401);
    }
  });

  it('404 for a task that does not exist, and for a path no route has', async () => {
    await ask('GET', '/tasks/{id}', `/tasks/${ID}`);
    await ask('DELETE', '/tasks/{id}', `/tasks/${ID}`);
    await ask('POST', '/tasks/{id}/retry', `/tasks/${ID}/retry`);
    await ask('POST', '/tasks/{id}/signal', `/tasks/${ID}/signal`, { body: { name: 'go' } });
    await ask('POST', '/schedules/{name}/pause', '/schedules/nope/pause');
    await ask('POST', '/schedules/{name}/resume', '/schedules/nope/resume');
    const unknown = await call(api, 'GET', '/nope');
    expect(unknown.status).toBe(404);
    checker.matches('ErrorResponse', unknown.body);
  });

  it('405 with Allow for a method the path does not take, in the error shape', async () => {
    const res = await call(api, 'PUT', '/tasks');

    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST, GET');
    checker.matches('ErrorResponse', res.body);
  });

  it('409: an Idempotency-Key reused with another body, a second cancel, a retry of a task that has not failed', async () => {
    const headers = { 'idempotency-key': 'conf-409' };
    await ask('POST', '/tasks', '/tasks', { body: enqueueBody('one'), headers });
    await ask('POST', '/tasks', '/tasks', { body: enqueueBody('two'), headers });
    const { body } = await ask('POST', '/tasks', '/tasks', { body: enqueueBody('pending') });
    await ask('POST', '/tasks/{id}/retry', `/tasks/${body!.taskId}/retry`);
    await ask('DELETE', '/tasks/{id}', `/tasks/${body!.taskId}`);
    await ask('DELETE', '/tasks/{id}', `/tasks/${body!.taskId}`);
    await ask('POST', '/tasks/{id}/signal', `/tasks/${body!.taskId}/signal`, { body: { name: 'go' } });
  });

  it('413 for a payload or a batch over its limit, 415 for a body that is not JSON', async () => {
    await ask('POST', '/tasks', '/tasks', { body: enqueueBody('x'.repeat(257 * 1024)) });
    await ask('POST', '/tasks/batch', '/tasks/batch', { body: { tasks: [enqueueBody('x'.repeat(6 * 1024 * 1024))] } });
    await ask('POST', '/workflows', '/workflows', { body: { group: Array.from({ length: 300 }, () => ({ name: 'checksum', payload: { data: 'x'.repeat(1_000) } })) } });
    await ask('POST', '/tasks/{id}/signal', `/tasks/${ID}/signal`, { body: { name: 'go', data: 'x'.repeat(65 * 1024) } });
    for (const path of ['/tasks', '/tasks/batch', '/workflows', `/tasks/${ID}/signal`]) {
      await ask('POST', path.startsWith('/tasks/0') ? '/tasks/{id}/signal' : path, path, { body: 'name=write_log', headers: { 'content-type': 'text/plain' } });
    }
  });

  it('503 with Retry-After when DynamoDB is down, and when no key is configured', async () => {
    // With DynamoDB refusing everything, the api says so as it does in an outage.
    expectErrorLogs('Request failed', 'Enqueue failed and could not be stopped', 'Background tasks could not be enqueued');
    const down = dynamoDown();
    await answer(down, 'POST', '/tasks', '/tasks', { body: enqueueBody('down') });
    await answer(down, 'POST', '/tasks/batch', '/tasks/batch', { body: { tasks: [enqueueBody('down')] } });
    await answer(down, 'GET', '/tasks', '/tasks');
    await answer(down, 'GET', '/stats', '/stats');
    await answer(down, 'GET', '/tasks/{id}', `/tasks/${ID}`);
    await answer(down, 'DELETE', '/tasks/{id}', `/tasks/${ID}`);
    await answer(down, 'POST', '/tasks/{id}/retry', `/tasks/${ID}/retry`);
    await answer(down, 'POST', '/workflows', '/workflows', { body: { chain: [{ name: 'double', payload: { n: 1 } }] } });
    await answer(down, 'POST', '/tasks/{id}/signal', `/tasks/${ID}/signal`, { body: { name: 'go' } });
    await answer(down, 'GET', '/schedules', '/schedules');
    await answer(down, 'POST', '/schedules/{name}/pause', '/schedules/daily_report/pause');
    await answer(down, 'POST', '/schedules/{name}/resume', '/schedules/daily_report/resume');
    await answer(down, 'POST', '/send-notification', '/send-notification', { query: { email: 'a@example.com' } });
    const res = await answer(testApi(engine, []), 'GET', '/tasks', '/tasks');
    expect(res.body!.error.code).toBe('auth_not_configured');
  });

  it('leaves unprovoked only the 500s (an unexpected error, which no test can cause on purpose)', () => {
    expect(checker.unseen().filter((key) => !key.endsWith(' 500'))).toEqual([]);
  });
});
