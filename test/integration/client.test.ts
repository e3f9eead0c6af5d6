import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, TaskNotFoundError, TasksApiError, TasksUnreachableError, WaitTimeoutError, type TasksClient } from '../../lib/client';
import type { Engine } from '../../lib/engine';
import type * as tasks from '../../lib/tasks';
import { TEST_KEY, testApi } from '../support/api';
import { z } from 'zod';
import { defineTask } from '../../lib/task';
import { createTestEngine, siblingEngine, startLocalAws, testBucket, type LocalAws } from '../support/aws';
import { claimById, runUntilTerminal } from '../support/drive';
import { stepId } from '../../lib/workflows/stepIds';
import { serveLambda, type LambdaHttpServer } from '../support/httpServer';
import { expectErrorLogs } from '../support/logs';
import { freePorts } from '../support/stack';

/**
 * lib/client over real HTTP to the api handler on real dynalite and
 * local-aws-sqs (the worker driven by hand). Where a test needs an answer only
 * API Gateway gives (a throttling 429, a 503 after the function ran), it sits
 * in front of the handler as API Gateway would.
 */
let aws: LocalAws;
let engine: Engine;
let server: LambdaHttpServer;
let client: TasksClient<typeof tasks>;
/** Each request through `server`, and what stands in front of the api for it (none: the api answers). */
const front: Array<(event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2 | undefined>> = [];
let requests: APIGatewayProxyEventV2[] = [];

beforeAll(async () => {
  aws = await startLocalAws();
  engine = await createTestEngine(aws, { payloadBucket: testBucket() });
  const api = testApi(engine);
  server = await serveLambda(async (event: APIGatewayProxyEventV2, context: Context) => {
    requests.push(event);
    return (await front.shift()?.(event)) ?? api(event, context);
  });
  client = createClient<typeof tasks>({ baseUrl: server.url, apiKey: TEST_KEY });
});
afterAll(async () => {
  await server.close();
  await aws.close();
});

const apiGatewayAnswer = (statusCode: number, headers: Record<string, string> = {}) => ({ statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ message: 'Service Unavailable' }) });

/** A result of `quotes` double quotes: over Lambda's 6 MB answer once escaped twice, so GET /tasks/{id} links to it. */
defineTask({ name: 'client_quotes', payload: z.object({ quotes: z.int() }), run: ({ quotes }) => '"'.repeat(quotes) });

describe('the typed client', () => {
  it('reads a result too large for one answer from its link, and a payload over 256 KB from its own', async () => {
    const untyped = createClient({ baseUrl: server.url, apiKey: TEST_KEY });
    const big = await untyped.enqueue('client_quotes', { quotes: 2_400_000 });
    const data = 'p'.repeat(300 * 1024);
    const large = await client.enqueue('checksum', { data });
    await runUntilTerminal(engine, aws, [big.taskId, large.taskId]);

    const task = await untyped.get(big.taskId);

    expect(task.resultUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/payloads-[\d-]+\/results\//);
    expect(task.result).toBe('"'.repeat(2_400_000));
    expect((await client.get(large.taskId)).payload).toBeNull();
    expect(await client.payload(large.taskId)).toEqual({ data });
    expect(await client.payload(big.taskId)).toEqual({ quotes: 2_400_000 });
  });


  it('enqueues, waits for the outcome and reads the typed result', async () => {
    const accepted = await client.enqueue('write_log', { message: 'from the client' });
    expect(accepted).toEqual({ taskId: expect.stringMatching(/^[0-9A-Z]{26}$/), status: 'PENDING', statusUrl: `/tasks/${accepted.taskId}` });

    const [task] = await Promise.all([client.waitFor(accepted.taskId, { timeoutMs: 20_000, intervalMs: 50 }), runUntilTerminal(engine, aws, [accepted.taskId])]);

    expect(task).toMatchObject({ taskId: accepted.taskId, name: 'write_log', status: 'SUCCEEDED', payload: { message: 'from the client' }, result: { message: 'from the client' } });
    if (task.name === 'write_log' && task.result && !('truncated' in task.result)) expect(task.result.message).toBe('from the client');
  });

  it('lists with filters, cancels, retries, enqueues a batch and reads the stats', async () => {
    const pending = await client.enqueue('sleep', { ms: 1 }, { delaySeconds: 600 });
    const batch = await client.enqueueBatch([
      { name: 'write_log', payload: { message: 'b1' } },
      { name: 'flaky', payload: { failTimes: 0, key: 'k' }, priority: 'high' },
    ]);

    const page = await client.list({ name: 'sleep', status: 'SCHEDULED', limit: 5 });
    const cancelled = await client.cancel(pending.taskId);
    const retried = await client.retry(pending.taskId);
    const stats = await client.stats();

    expect(batch).toMatchObject({ accepted: 2, rejected: 0, items: [{ index: 0, ok: true }, { index: 1, ok: true }] });
    expect(page.items.map((t) => t.taskId)).toContain(pending.taskId);
    expect(cancelled).toMatchObject({ taskId: pending.taskId, status: 'CANCELLED' });
    expect(retried).toEqual({ taskId: pending.taskId, status: 'PENDING', statusUrl: `/tasks/${pending.taskId}` });
    expect(stats).toMatchObject({ windowMinutes: 60, queues: { byPriority: { high: expect.any(Object), default: expect.any(Object) } } });
  });

  it('enqueues a workflow, signals it, and reads it with its steps', { timeout: 30_000 }, async () => {
    const accepted = await client.enqueueWorkflow({ chain: [{ name: 'double', payload: { n: 2 } }, { waitFor: 'go', timeoutSeconds: 600 }, { name: 'double' }] });
    await runUntilTerminal(engine, aws, [stepId(accepted.taskId, 0)]);

    const waiting = await client.get(accepted.taskId);
    const taken = await client.signal(accepted.taskId, 'go', { n: 5 });
    await runUntilTerminal(engine, aws, [accepted.taskId]);

    expect(accepted).toEqual({ taskId: accepted.taskId, status: 'RUNNING', statusUrl: `/tasks/${accepted.taskId}` });
    expect(waiting).toMatchObject({ status: 'WAITING', steps: [{ index: 0, status: 'SUCCEEDED' }, { index: 1, status: 'WAITING', waitFor: 'go' }, { index: 2, status: 'PENDING' }] });
    expect(taken).toEqual({ taskId: accepted.taskId, status: 'RUNNING', statusUrl: `/tasks/${accepted.taskId}`, repeated: false });
    expect(await client.get(accepted.taskId)).toMatchObject({ status: 'SUCCEEDED', result: { n: 10 } });
    await expect(client.signal(accepted.taskId, 'stop')).rejects.toMatchObject({ status: 409, code: 'invalid_state' });
  });

  it('debounces enqueues of one key into one task, and asks a running task to stop', async () => {
    const debounce = { key: 'client-1', seconds: 60 };
    const first = await client.enqueue('write_log', { message: 'one' }, { debounce });
    const second = await client.enqueue('write_log', { message: 'two' }, { debounce });
    const { taskId } = await client.enqueue('sleep', { ms: 1 });
    await claimById(engine, taskId, new Date(), 60_000);

    const asked = await client.cancel(taskId);

    expect(second.taskId).toBe(first.taskId);
    expect(await client.get(first.taskId)).toMatchObject({ status: 'PENDING', payload: { message: 'two' }, debounce, progress: null });
    expect(asked).toMatchObject({ taskId, status: 'RUNNING', cancelRequestedAt: expect.any(String) });
  });

  it('throws typed errors carrying the API’s code and status', async () => {
    const missing = await client.get('01ARZ3NDEKTSV4RRFFQ69G5FAV').catch((e: unknown) => e);
    // A caller without types can still send anything; the API refuses it.
    const untyped = createClient({ baseUrl: server.url, apiKey: TEST_KEY });
    const invalid = await untyped.enqueue('write_log', { message: 42 }).catch((e: unknown) => e);
    const refused = await createClient({ baseUrl: server.url, apiKey: 'wrong' }).list().catch((e: unknown) => e);
    const conflict = await client.retry((await client.enqueue('write_log', { message: 'fine' })).taskId).catch((e: unknown) => e);

    expect(missing).toBeInstanceOf(TaskNotFoundError);
    expect(missing).toMatchObject({ status: 404, code: 'task_not_found', name: 'TaskNotFoundError' });
    expect(invalid).toMatchObject({ status: 400, code: 'validation_error', details: [{ path: 'message', message: expect.any(String) }] });
    expect(invalid).not.toBeInstanceOf(TaskNotFoundError);
    expect(refused).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(conflict).toMatchObject({ status: 409, code: 'invalid_state' });
    expect(conflict).toBeInstanceOf(TasksApiError);
  });

  it('sends one Idempotency-Key per enqueue, so a 503 after the task landed gives the same task, once', async () => {
    requests = [];
    // API Gateway gave up on the function after it had enqueued: the client cannot know, and sends it again.
    front.push(async (event) => {
      await testApi(engine)(event, {} as Context);
      return apiGatewayAnswer(503);
    });

    const accepted = await client.enqueue('write_log', { message: 'exactly once' });

    expect(requests).toHaveLength(2);
    const keys = requests.map((r) => r.headers['idempotency-key']);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    const page = await client.list({ name: 'write_log', limit: 100 });
    const landed = await Promise.all(page.items.map((t) => client.get(t.taskId)));
    expect(landed.filter((t) => (t.payload as { message: string }).message === 'exactly once').map((t) => t.taskId)).toEqual([accepted.taskId]);
    // Two calls, two keys: two tasks.
    const again = await client.enqueue('write_log', { message: 'exactly once' });
    expect(again.taskId).not.toBe(accepted.taskId);
  });

  it('honours Retry-After on a 429, and tries no more than maxTries', async () => {
    requests = [];
    front.push(async () => apiGatewayAnswer(429, { 'retry-after': '1' }));
    const started = Date.now();
    await client.list({ limit: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(requests).toHaveLength(2);

    requests = [];
    expectErrorLogs('Request failed'); // the api's 503s, on purpose
    const down = siblingEngine(aws, engine);
    down.dynamo.add({ command: 'Query', effect: 'fail' });
    const downServer = await serveLambda(async (event, context) => {
      requests.push(event);
      return testApi(down.engine)(event, context);
    });
    try {
      const error = await createClient({ baseUrl: downServer.url, apiKey: TEST_KEY, maxTries: 2, maxRetryDelayMs: 10 }).list().catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 503, code: 'service_unavailable' });
      expect(requests).toHaveLength(2);
    } finally {
      await downServer.close();
    }
  });

  it('does not send a cancel again after a 503 it cannot trust', async () => {
    requests = [];
    front.push(async () => apiGatewayAnswer(503));

    const error = await client.cancel('01ARZ3NDEKTSV4RRFFQ69G5FAV').catch((e: unknown) => e);

    expect(error).toMatchObject({ status: 503, code: 'http_503' });
    expect(requests).toHaveLength(1);
  });

  it('schedules a task a day ahead (SCHEDULED, with its runAt), lists the schedules, pauses and resumes one', async () => {
    const runAt = new Date(Date.now() + 86_400_000).toISOString();
    const later = await client.enqueue('write_log', { message: 'tomorrow' }, { runAt });
    const schedules = await client.schedules();
    const paused = await client.pauseSchedule('daily_report');
    const resumed = await client.resumeSchedule('daily_report');
    const missing = await client.pauseSchedule('nope').catch((e: unknown) => e);

    expect(later.status).toBe('SCHEDULED');
    expect(await client.get(later.taskId)).toMatchObject({ status: 'SCHEDULED', runAt });
    expect(schedules.items.map((s) => [s.name, s.expression, s.timezone])).toEqual([['daily_report', 'cron(0 9 ? * MON-FRI *)', 'Europe/Paris']]);
    expect(paused).toMatchObject({ name: 'daily_report', paused: true, nextRunAt: null });
    expect(resumed).toMatchObject({ name: 'daily_report', paused: false, nextRunAt: schedules.items[0]!.nextRunAt });
    expect(missing).toBeInstanceOf(TasksApiError);
    expect(missing).toMatchObject({ status: 404, code: 'schedule_not_found' });
  });

  it('says when the API cannot be reached, and when a wait runs out', async () => {
    const [port] = await freePorts(1);
    const nowhere = await createClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: TEST_KEY, maxTries: 2 }).list().catch((e: unknown) => e);
    const { taskId } = await client.enqueue('sleep', { ms: 1 }, { delaySeconds: 600 });
    const waited = await client.waitFor(taskId, { timeoutMs: 300, intervalMs: 50 }).catch((e: unknown) => e);

    expect(nowhere).toBeInstanceOf(TasksUnreachableError);
    expect(nowhere).toMatchObject({ status: 0, code: 'unreachable' });
    expect(waited).toBeInstanceOf(WaitTimeoutError);
    expect(waited).toMatchObject({ task: { taskId, status: 'SCHEDULED' }, message: `Task ${taskId} is still SCHEDULED after 300 ms` });
  });
});
