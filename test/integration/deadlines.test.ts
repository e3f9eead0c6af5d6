import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { processDeadLetters } from '../../lib/deadLetters';
import type { Engine } from '../../lib/engine';
import { enqueue } from '../../lib/enqueue';
import { isStateSk } from '../../lib/store/items';
import { defineTask } from '../../lib/task';
import { testApi } from '../support/api';
import { createTestEngine, siblingEngine, startLocalAws, type CallTimeouts, type LocalAws } from '../support/aws';
import { runWorker } from '../support/drive';
import { apiEvent, lambdaContext, receiveTaskMessage } from '../support/events';
import { expectErrorLogs } from '../support/logs';

// Its calls hang until they are given up.
expectErrorLogs(
  'Could not record a dead-lettered task; will retry',
  'Request failed',
  'Task message could not be processed; SQS will deliver it again',
);

/**
 * "Every call is bounded; every request has a deadline": calls whose answer
 * never comes (the request goes to a server that never answers, after landing
 * on the real one or not), against the clients' own timeouts and the
 * invocation's budget. Each answer must come before the Lambda's own deadline,
 * as this API's JSON, and a 5xx must mean nothing runs.
 */
let aws: LocalAws;
let base: Engine;
beforeAll(async () => {
  aws = await startLocalAws();
});
// Queues of its own for each test: a hung send may have landed once per try.
beforeEach(async () => {
  base = await createTestEngine(aws);
});
afterAll(async () => aws.close());

const runs = new Map<string, number>();
const counted = defineTask({
  name: 'dl_counted',
  payload: z.object({ key: z.string() }),
  run: ({ key }) => {
    runs.set(key, (runs.get(key) ?? 0) + 1);
    return { key };
  },
});

/** Short tries, so that a test of a hang takes seconds: the mechanism is the SDK's own. */
const SHORT: CallTimeouts = { connectionTimeout: 200, requestTimeout: 300, throwOnRequestTimeout: true };

/** Calls the api on `engine` as Lambda would, with `remainingMs` left; resolves with when it answered. */
async function post(engine: Engine, body: object, remainingMs: number, headers: Record<string, string> = {}) {
  const started = Date.now();
  const res = await testApi(engine)(apiEvent('POST', '/tasks', { body, headers }), lambdaContext(remainingMs));
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, never>, headers: res.headers, tookMs: Date.now() - started };
}

const taskIdOf = (api: ReturnType<typeof siblingEngine>) => api.sqs.calls.find((c) => c.command === 'SendMessage')?.input.MessageBody as string | undefined;

describe('the api', () => {
  it('answers within its Lambda’s time when a SendMessage lands and no answer ever comes, on the engine’s own client timeouts: 503, and the task is stopped', { timeout: 60_000 }, async () => {
    const api = siblingEngine(aws, base);
    const hung = api.sqs.add({ command: 'SendMessage', effect: 'hang', step: 'deserialize', lands: true });

    const res = await post(api.engine, { name: 'dl_counted', payload: { key: 'hung-send' } }, 29_000);

    expect(hung.hits).toBeGreaterThanOrEqual(1);
    expect(res.tookMs).toBeLessThan(29_000);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: { code: 'service_unavailable' } });
    expect(res.headers['retry-after']).toBe('1');
    const { taskId } = JSON.parse(taskIdOf(api)!) as { taskId: string };
    expect(await base.store.getState(taskId)).toMatchObject({ status: 'CANCELLED', stopped: 'enqueue_failed' });
    // The message did land: it runs nothing.
    const message = await receiveTaskMessage(aws.sqs, base.config.queueUrls.default, taskId);
    await runWorker(siblingEngine(aws, base).engine, siblingEngine(aws, base).sqs, [message], lambdaContext());
    expect(runs.get('hung-send')).toBeUndefined();
  });

  it('stops its own calls in time to resolve and answer when a short Lambda budget runs out under a hung write', async () => {
    const api = siblingEngine(aws, base, { resolveReserveMs: 1_000 });
    // Every try of the definition's write hangs (the engine's timeouts alone would take ~10 s); the stop's write goes through.
    api.dynamo.add({ command: 'PutItem', effect: 'hang', step: 'deserialize', when: (input) => !isStateSk(String(input.Item?.sk?.S)) });

    const res = await post(api.engine, { name: 'dl_counted', payload: { key: 'short-budget' } }, 2_500);

    expect(res.tookMs).toBeLessThan(2_500);
    expect(res.status).toBe(503);
    const { taskId } = JSON.parse(taskIdOf(api)!) as { taskId: string };
    expect(await base.store.getState(taskId)).toMatchObject({ status: 'CANCELLED', stopped: 'enqueue_failed' });
    await receiveTaskMessage(aws.sqs, base.config.queueUrls.default, taskId);
  });

  it('answers 202 within its budget when the record and the message landed and only the answers hang, once a worker has claimed the task', async () => {
    const api = siblingEngine(aws, base, { resolveReserveMs: 1_500 }, SHORT);
    const worker = siblingEngine(aws, base);
    api.sqs.add({
      command: 'SendMessage',
      effect: 'hang',
      step: 'deserialize',
      lands: true,
      times: 1,
    });
    // The SDK's second try is held until a worker has run the first one's message.
    api.sqs.add({
      command: 'SendMessage',
      effect: 'delay',
      step: 'deserialize',
      times: 1,
      before: async (input) => {
        const { taskId } = JSON.parse(String(input.MessageBody)) as { taskId: string };
        await runWorker(worker.engine, worker.sqs, [await receiveTaskMessage(aws.sqs, base.config.queueUrls.default, taskId)], lambdaContext());
        throw new Error('the second try fails too');
      },
    });

    const res = await post(api.engine, { name: 'dl_counted', payload: { key: 'claimed-first' } }, 6_000);

    expect(res.tookMs).toBeLessThan(6_000);
    expect(res.status).toBe(202);
    expect(runs.get('claimed-first')).toBe(1);
  });

  it('ends its wait for another request holding an Idempotency-Key with its own budget, answering 503 in time', async () => {
    const holder = siblingEngine(aws, base);
    // The first request holds the key's sending and never finishes: its send hangs above the SDK.
    holder.sqs.add({ command: 'SendMessage', effect: 'hang' });
    const held = post(holder.engine, { name: 'dl_counted', payload: { key: 'held' } }, 8_000, { 'idempotency-key': 'held-key' });
    await new Promise((r) => setTimeout(r, 300));
    const other = siblingEngine(aws, base, { resolveReserveMs: 1_000 });

    const res = await post(other.engine, { name: 'dl_counted', payload: { key: 'held' } }, 3_000, { 'idempotency-key': 'held-key' });

    expect(res.tookMs).toBeLessThan(3_000);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: { code: 'service_unavailable' } });
    // The holder, out of time itself, stops the task and answers 503 too.
    expect((await held).status).toBe(503);
  });
});

describe('the queue consumers', () => {
  it('the worker answers before its deadline when a claim hangs, and hands the message back', async () => {
    const { taskId } = await enqueue(counted, { key: 'hung-claim' }, {}, base);
    const message = await receiveTaskMessage(aws.sqs, base.config.queueUrls.default, taskId);
    const worker = siblingEngine(aws, base, { workerDeadlineMarginMs: 500 }, SHORT);
    worker.dynamo.add({ command: 'UpdateItem', effect: 'hang' });

    const started = Date.now();
    const { failures } = await runWorker(worker.engine, worker.sqs, [message], lambdaContext(2_000));

    expect(Date.now() - started).toBeLessThan(2_000);
    expect(failures).toEqual([message.messageId]);
    expect(runs.get('hung-claim')).toBeUndefined();
  });

  it('the DLQ consumer answers before its deadline when a read hangs, and leaves the letter for later', async () => {
    const { taskId } = await enqueue(counted, { key: 'hung-letter' }, {}, base);
    const letter = await receiveTaskMessage(aws.sqs, base.config.queueUrls.default, taskId);
    const dlq = siblingEngine(aws, base, {}, SHORT);
    dlq.dynamo.add({ command: 'BatchGetItem', effect: 'hang' });

    const started = Date.now();
    const response = await processDeadLetters(dlq.engine, { Records: [letter] }, lambdaContext(1_500));

    expect(Date.now() - started).toBeLessThan(1_500);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: letter.messageId }]);
  });
});
