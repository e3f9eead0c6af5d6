import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApi } from '../support/api';
import { z } from 'zod';
import { withBackgroundTasks } from '../../lib/background';
import { processDeadLetters } from '../../lib/deadLetters';
import type { Engine } from '../../lib/engine';
import { enqueue } from '../../lib/enqueue';
import { processBatch } from '../../lib/worker';
import { defineTask } from '../../lib/task';
import '../../lib/tasks';
import { createTestEngine, siblingEngine, startLocalAws, type LocalAws } from '../support/aws';
import { drainQueue, runUntilTerminal } from '../support/drive';
import { apiEvent, lambdaContext, receiveAll } from '../support/events';
import { internalServerError, timeoutError } from '../support/faults';
import { expectErrorLogs } from '../support/logs';

// It injects the faults that break each promise, and its tasks fail on purpose.
expectErrorLogs(
  'Background tasks could not be enqueued; none was',
  'Request failed',
  'Task failed',
  'Task message could not be processed; SQS will deliver it again',
);

/**
 * The delivery promises of docs/delivery-semantics.md, each under the race or the fault that
 * breaks it: two engines with their own clients on one table and queue (two
 * Lambda instances), and SDK middleware that delays a call, fails it, or lets
 * it land and loses the answer.
 */
let aws: LocalAws;

beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => aws.close());

const runs = new Map<string, number>();
/** Counts its runs by key, so a test can tell whether a task ran. */
const counted = defineTask({
  name: 'inv_counted',
  payload: z.object({ key: z.string() }),
  maxAttempts: 3,
  run: ({ key }) => {
    runs.set(key, (runs.get(key) ?? 0) + 1);
    return { key };
  },
});

/** Fails every attempt; its retries wait a minute at least. */
const slowRetry = defineTask({
  name: 'inv_slow_retry',
  payload: z.object({ key: z.string() }),
  maxAttempts: 5,
  backoff: { baseSeconds: 60, maxSeconds: 300 },
  run: ({ key }) => {
    runs.set(key, (runs.get(key) ?? 0) + 1);
    throw new Error(`${key} fails`);
  },
});

/** Fails on its first call for a key, then succeeds. */
const failsOnce = defineTask({
  name: 'inv_fails_once',
  payload: z.object({ key: z.string() }),
  maxAttempts: 1,
  backoff: { baseSeconds: 1, maxSeconds: 1 },
  run: ({ key }) => {
    const n = (runs.get(key) ?? 0) + 1;
    runs.set(key, n);
    if (n === 1) throw new Error(`${key}: first call fails`);
    return { call: n };
  },
});

/** Throws whatever `throwers` holds for its key. */
const throwers = new Map<string, () => unknown>();
const thrower = defineTask({
  name: 'inv_thrower',
  payload: z.object({ key: z.string() }),
  maxAttempts: 1,
  run: ({ key }) => {
    throw throwers.get(key)!();
  },
});

const api = (engine: Engine) => testApi(engine);
const post = (engine: Engine, body: unknown, headers: Record<string, string> = {}) =>
  api(engine)(apiEvent('POST', '/tasks', { body: body as object, headers }), lambdaContext());
const until = async (check: () => Promise<boolean>, timeoutMs = 5_000) => {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};
const idOfSend = (input: { MessageBody?: string }) => (JSON.parse(input.MessageBody!) as { taskId: string }).taskId;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** No lone surrogate (String.prototype.isWellFormed, Node 20; not in TypeScript's ES2023 lib). */
const isWellFormed = (text: string) => (text as unknown as { isWellFormed(): boolean }).isWellFormed();

describe('1. a 202 is never taken back', () => {
  it('keeps the task of a request that answered 202 when another request with the same key fails to send it', async () => {
    const base = await createTestEngine(aws);
    const a = siblingEngine(aws, base);
    const b = siblingEngine(aws, base);
    const body = { name: 'inv_counted', payload: { key: 'same-key-race' } };
    const headers = { 'idempotency-key': 'race-1' };
    let bResponse: Promise<Awaited<ReturnType<typeof post>>> | undefined;
    // A's send waits until its record is readable, lets B ask with the same key, then fails.
    a.sqs.add({
      command: 'SendMessage',
      effect: 'fail',
      before: async (input) => {
        const taskId = idOfSend(input);
        await until(async () => (await base.store.get(taskId)) !== undefined);
        bResponse = post(b.engine, body, headers);
        await Promise.race([bResponse, sleep(300)]);
      },
    });

    const aRes = await post(a.engine, body, headers);
    const bRes = await bResponse!;

    expect(bRes.statusCode).toBe(202);
    const taskId = JSON.parse(bRes.body).taskId as string;
    if (aRes.statusCode === 202) expect(JSON.parse(aRes.body).taskId).toBe(taskId);
    else expect(aRes.statusCode).toBe(503);
    const [record] = await runUntilTerminal(base, aws, [taskId]);
    expect(record).toMatchObject({ status: 'SUCCEEDED' });
    expect(runs.get('same-key-race')).toBe(1);
  });
});

describe('2. a 5xx means nothing runs, or the answer is 202', () => {
  it('PutItem lands but answers 500: either 503 and the task never runs, or 202 and it runs', async () => {
    const base = await createTestEngine(aws);
    const a = siblingEngine(aws, base);
    a.dynamo.add({ command: 'PutItem', effect: 'lose-answer', error: internalServerError, times: 1 });

    const res = await post(a.engine, { name: 'inv_counted', payload: { key: 'put-lost' } });
    await drainQueue(base, aws, base.config.queueUrls.default);

    if (res.statusCode === 202) {
      await runUntilTerminal(base, aws, [JSON.parse(res.body).taskId]);
      expect(runs.get('put-lost')).toBe(1);
    } else {
      expect(res.statusCode).toBe(503);
      expect(runs.get('put-lost')).toBeUndefined();
    }
  });

  it('SendMessage lands and times out after a worker claimed the task: answers 202', async () => {
    const base = await createTestEngine(aws);
    const a = siblingEngine(aws, base);
    a.sqs.add({
      command: 'SendMessage',
      effect: 'lose-answer',
      error: timeoutError,
      // The answer is lost only after another instance has received the message and run the task.
      after: async (input) => {
        const taskId = idOfSend(input);
        await until(async () => (await base.store.get(taskId)) !== undefined);
        await drainQueue(base, aws, base.config.queueUrls.default);
      },
    });

    const res = await post(a.engine, { name: 'inv_counted', payload: { key: 'send-late' } });

    expect(runs.get('send-late')).toBe(1);
    expect(res.statusCode).toBe(202);
  });
});

describe('3. withBackgroundTasks is all or nothing', () => {
  const handlerAdding = (engine: Engine, prefix: string, count: number, ids: string[]) =>
    withBackgroundTasks(
      async (_event: unknown, _ctx, backgroundTasks) => {
        for (let i = 0; i < count; i++) ids.push(backgroundTasks.add(counted, { key: `${prefix}-${i}` }).taskId);
        return { statusCode: 200, body: 'ok' };
      },
      { engine: () => engine },
    );

  it('runs none of 25 tasks when SQS keeps refusing 9 of them', async () => {
    const base = await createTestEngine(aws);
    const a = siblingEngine(aws, base);
    const ids: string[] = [];
    // Nine fixed tasks, every third one added (0, 3, ..., 24), are refused on every try.
    const refuse = a.sqs.add({ command: 'SendMessageBatch', effect: 'refuse-entries', refuse: (entry: { MessageBody: string }) => ids.indexOf(idOfSend(entry)) % 3 === 0 });

    const outcome = await handlerAdding(a.engine, 'all-or-nothing', 25, ids)(apiEvent('POST', '/signup'), {} as Context).then(
      (r) => r,
      (e: unknown) => e,
    );
    await drainQueue(base, aws, base.config.queueUrls.default);

    expect(refuse.hits).toBeGreaterThan(0);
    const failed = outcome instanceof Error || (outcome as { statusCode: number }).statusCode === 503;
    expect(failed).toBe(true);
    expect([...runs.keys()].filter((k) => k.startsWith('all-or-nothing-'))).toEqual([]);
  });

  it('answers when its one task, its record write answered ambiguously, was claimed by a worker before the stop: it runs, so it was enqueued', async () => {
    const base = await createTestEngine(aws);
    const a = siblingEngine(aws, base);
    const worker = siblingEngine(aws, base);
    const ids: string[] = [];
    // The record lands but its answer is lost; the message goes out; before the stop reaches the table, a worker runs the task.
    a.dynamo.add({ command: 'BatchWriteItem', effect: 'lose-answer', error: internalServerError, times: 1 });
    a.dynamo.add({ command: 'PutItem', effect: 'delay', times: 1, before: async () => void (await drainQueue(worker.engine, aws, base.config.queueUrls.default)) });

    const outcome = await handlerAdding(a.engine, 'claimed-before-stop', 1, ids)(apiEvent('POST', '/signup'), {} as Context).then(
      (r) => r,
      (e: unknown) => e,
    );

    expect(runs.get('claimed-before-stop-0')).toBe(1);
    expect(await base.store.get(ids[0]!)).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
    // Its task runs: a 503 here would break "a 5xx means nothing runs" with nothing of the call stopped.
    expect(outcome).toEqual({ statusCode: 200, body: 'ok' });
  });

  it('retries entries SQS refused once, and then runs all 25', async () => {
    const base = await createTestEngine(aws);
    const a = siblingEngine(aws, base);
    a.sqs.add({ command: 'SendMessageBatch', effect: 'refuse-entries', times: 3, refuse: (_e, i) => i % 2 === 0 });

    const res = await handlerAdding(a.engine, 'retried-entries', 25, [])(apiEvent('POST', '/signup'), {} as Context);
    await drainQueue(base, aws, base.config.queueUrls.default);

    expect(res).toEqual({ statusCode: 200, body: 'ok' });
    expect(Array.from({ length: 25 }, (_, i) => runs.get(`retried-entries-${i}`))).toEqual(Array(25).fill(1));
  });
});

describe('4. one key, one task, one dispatch', () => {
  it('20 concurrent requests with one key while the record write is slow: one task, one message, no early retry', async () => {
    const base = await createTestEngine(aws);
    const a = siblingEngine(aws, base);
    const b = siblingEngine(aws, base);
    for (const s of [a, b]) s.dynamo.add({ command: 'PutItem', effect: 'delay', delayMs: 300 });
    const body = { name: 'inv_slow_retry', payload: { key: 'one-dispatch' } };
    const headers = { 'idempotency-key': 'one-dispatch-key' };

    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => post((i % 2 ? a : b).engine, body, headers)));

    expect(responses.map((r) => r.statusCode)).toEqual(Array(20).fill(202));
    const ids = new Set(responses.map((r) => JSON.parse(r.body).taskId as string));
    expect(ids.size).toBe(1);
    expect(a.sqs.count('SendMessage') + b.sqs.count('SendMessage')).toBe(1);
    // Whatever messages exist, the first retry waits at least 30 s (60 s with jitter down to half).
    const end = Date.now() + 1_500;
    while (Date.now() < end) await drainQueue(base, aws, base.config.queueUrls.default);
    expect(runs.get('one-dispatch')).toBe(1);
  });
});

describe('5. backoff holds against any message', () => {
  it('hands back a duplicate that arrives during the backoff, with the remaining delay, and runs nothing', async () => {
    const engine = await createTestEngine(aws);
    const a = siblingEngine(aws, engine);
    const { taskId } = await enqueue(slowRetry, { key: 'early-duplicate' }, {}, engine);
    const first = await receiveAll(aws.sqs, engine.config.queueUrls.default, 1);
    await processBatch(engine, first, lambdaContext());
    expect(await engine.store.get(taskId)).toMatchObject({ status: 'RETRYING', attempts: 1 });
    await aws.sqs.send(new SendMessageCommand({ QueueUrl: engine.config.queueUrls.default, MessageBody: first.Records[0]!.body }));
    const duplicate = await receiveAll(aws.sqs, engine.config.queueUrls.default, 1);

    const response = await processBatch(a.engine, duplicate, lambdaContext());

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: duplicate.Records[0]!.messageId }]);
    expect(await engine.store.get(taskId)).toMatchObject({ status: 'RETRYING', attempts: 1 });
    expect(runs.get('early-duplicate')).toBe(1);
    const visibility = a.sqs.calls.find((c) => c.command === 'ChangeMessageVisibility');
    expect(visibility?.input.VisibilityTimeout).toBeGreaterThanOrEqual(25);
  });
});

describe('6. a retried run is isolated from the earlier run', () => {
  it('a message of the earlier run reaching the DLQ leaves the retried task alone', async () => {
    const engine = await createTestEngine(aws);
    const { taskId } = await enqueue(failsOnce, { key: 'dlq-stale' }, {}, engine);
    const first = await receiveAll(aws.sqs, engine.config.queueUrls.default, 1);
    await processBatch(engine, first, lambdaContext());
    expect(await engine.store.get(taskId)).toMatchObject({ status: 'FAILED' });
    const retried = await api(engine)(apiEvent('POST', `/tasks/${taskId}/retry`), lambdaContext());
    expect(retried.statusCode).toBe(202);

    expect(await processDeadLetters(engine, first)).toEqual({ batchItemFailures: [] });

    expect(await engine.store.get(taskId)).toMatchObject({ status: 'PENDING' });
    const [record] = await runUntilTerminal(engine, aws, [taskId]);
    expect(record).toMatchObject({ status: 'SUCCEEDED', result: { call: 2 } });
  });

  it('a stale message of the earlier run does not claim the retried task', async () => {
    const engine = await createTestEngine(aws);
    const { taskId } = await enqueue(failsOnce, { key: 'stale-message' }, {}, engine);
    const first = await receiveAll(aws.sqs, engine.config.queueUrls.default, 1);
    await processBatch(engine, first, lambdaContext());
    await api(engine)(apiEvent('POST', `/tasks/${taskId}/retry`), lambdaContext());
    await aws.sqs.send(new SendMessageCommand({ QueueUrl: engine.config.queueUrls.default, MessageBody: first.Records[0]!.body }));
    const both = await receiveAll(aws.sqs, engine.config.queueUrls.default, 2);
    // The earlier run's copy has the first message's body; the retry's own message is the other one.
    const staleOnly = both.Records.filter((r) => r.body === first.Records[0]!.body);
    const fresh = both.Records.filter((r) => r.body !== first.Records[0]!.body || r !== staleOnly[0]);
    expect(staleOnly.length).toBeGreaterThanOrEqual(1);
    expect(both.Records).toHaveLength(2);

    const response = await processBatch(engine, { Records: staleOnly }, lambdaContext());

    expect(response.batchItemFailures).toEqual([]);
    expect(await engine.store.get(taskId)).toMatchObject({ status: 'PENDING', attempts: 0 });
    await processBatch(engine, { Records: fresh }, lambdaContext());
    expect(await engine.store.get(taskId)).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  });

  it('a late outcome of an attempt whose lease ended cannot overwrite the retried run', async () => {
    const engine = await createTestEngine(aws, { leaseMarginMs: 100 });
    const slowOutcome = siblingEngine(aws, engine);
    const other = siblingEngine(aws, engine);
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    // Instance A records its outcome only when the test says so (a frozen, then thawed, Lambda).
    slowOutcome.dynamo.add({ command: 'UpdateItem', effect: 'delay', times: 1, when: (input) => JSON.stringify(input).includes('SUCCEEDED'), before: () => released });
    const { taskId } = await enqueue(failsLater, { key: 'late-outcome' }, { maxAttempts: 1 }, engine);
    const message = await receiveAll(aws.sqs, engine.config.queueUrls.default, 1);
    const aBatch = processBatch(slowOutcome.engine, message, lambdaContext());
    await until(async () => lateCalls.get('late-outcome') === 1);
    // A's lease (1 s + 0.1 s) ends; B takes the redelivery, finds no attempt left, and fails the task.
    await sleep(1_300);
    await processBatch(other.engine, message, lambdaContext());
    expect(await engine.store.get(taskId)).toMatchObject({ status: 'FAILED' });
    await api(engine)(apiEvent('POST', `/tasks/${taskId}/retry`), lambdaContext());
    const retry = await receiveAll(aws.sqs, engine.config.queueUrls.default, 1);
    // B runs the new run, and holds it RUNNING while A's old outcome arrives.
    const bBatch = processBatch(other.engine, retry, lambdaContext());
    await until(async () => lateCalls.get('late-outcome') === 2);
    release();
    await aBatch;
    expect(await engine.store.get(taskId)).toMatchObject({ status: 'RUNNING' });
    lateGates.get('late-outcome')?.();
    await bBatch;

    expect(await engine.store.get(taskId)).toMatchObject({ status: 'SUCCEEDED', result: { call: 2 } });
  });

  it('a SUCCEEDED record keeps no error of an earlier attempt (the attempt log does)', async () => {
    const engine = await createTestEngine(aws);
    const { taskId } = await enqueue(failsOnce, { key: 'no-leftover-error' }, { maxAttempts: 2 }, engine);

    const [record] = await runUntilTerminal(engine, aws, [taskId]);

    expect(record).toMatchObject({ status: 'SUCCEEDED', result: { call: 2 } });
    expect(record!.error).toBeUndefined();
    expect(record!.attemptLog.map((a) => a.outcome)).toEqual(['failed', 'succeeded']);
  });
});

const lateCalls = new Map<string, number>();
const lateGates = new Map<string, () => void>();
/** Its first call returns at once; its second waits for the test's gate. */
const failsLater = defineTask({
  name: 'inv_gated',
  payload: z.object({ key: z.string() }),
  timeoutSeconds: 1,
  run: async ({ key }) => {
    const n = (lateCalls.get(key) ?? 0) + 1;
    lateCalls.set(key, n);
    if (n > 1) await new Promise<void>((r) => lateGates.set(key, r));
    return { call: n };
  },
});

describe('7. every thrown value is recorded', () => {
  const huge = 'n'.repeat(450 * 1024);
  const cases: Array<[string, () => unknown]> = [
    ['an Error whose message is undefined', () => Object.assign(new Error('x'), { message: undefined })],
    [
      'an Error whose message getter throws',
      () => {
        const e = new Error('x');
        Object.defineProperty(e, 'message', { get: () => { throw new Error('getter'); } });
        return e;
      },
    ],
    [
      'an Error whose cause is itself',
      () => {
        const e = new Error('loops');
        e.cause = e;
        return e;
      },
    ],
    [
      'an Error whose cause is an object that refers back to it',
      () => {
        const e = new Error('loops through its cause');
        const cause: Record<string, unknown> = { note: 'cause' };
        cause.back = e;
        e.cause = cause;
        return e;
      },
    ],
    [
      'a Proxy whose every trap throws',
      () =>
        new Proxy(new Error('trapped'), {
          get: () => { throw new Error('get trap'); },
          getPrototypeOf: () => { throw new Error('getPrototypeOf trap'); },
          ownKeys: () => { throw new Error('ownKeys trap'); },
          has: () => { throw new Error('has trap'); },
          getOwnPropertyDescriptor: () => { throw new Error('getOwnPropertyDescriptor trap'); },
        }),
    ],
    ['a string', () => 'plain string'],
    ['null', () => null],
    ['a plain object', () => ({ code: 42, nested: { deep: true } })],
    ['a 450 KB name', () => Object.assign(new Error('m'), { name: huge })],
    ['a 450 KB message', () => new Error(huge)],
    ['a 450 KB stack', () => Object.assign(new Error('m'), { stack: huge })],
    ['a lone surrogate', () => new Error(`broken \ud800 pair`)],
    ['emoji cut at the limit', () => new Error(`a${'\u{1F600}'.repeat(3000)}`)],
  ];

  it.each(cases)('records %s, within the item limit and as well-formed text', async (label, make) => {
    const engine = await createTestEngine(aws);
    const key = `throw-${label}`;
    throwers.set(key, make);
    const { taskId } = await enqueue(thrower, { key }, {}, engine);

    const [record] = await runUntilTerminal(engine, aws, [taskId]);

    expect(record).toMatchObject({ status: 'FAILED', attempts: 1, error: { type: expect.any(String), message: expect.any(String) } });
    const text = JSON.stringify(record!.error) + JSON.stringify(record!.attemptLog);
    expect(Buffer.byteLength(text)).toBeLessThan(16 * 1024);
    // JSON.stringify escapes a lone surrogate, so check the strings themselves.
    for (const error of [record!.error!, ...record!.attemptLog.map((a) => a.error!)]) {
      expect(isWellFormed(error.type) && isWellFormed(error.message)).toBe(true);
    }
  });
});

describe('8. a filtered list returns every match', () => {
  it('finds every task of a name, newest first and once each, however many newer tasks do not match', async () => {
    const engine = await createTestEngine(aws);
    const matching: string[] = [];
    for (let i = 0; i < 3; i++) matching.push((await enqueue(counted, { key: `list-match-${i}` }, {}, engine)).taskId);
    for (let i = 0; i < 40; i++) await enqueue(failsOnce, { key: `list-other-${i}` }, {}, engine);
    const list = api(engine);

    for (const status of [undefined, 'PENDING']) {
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 50; page++) {
        const query: Record<string, string> = { name: 'inv_counted', limit: '2', ...(status ? { status } : {}), ...(cursor ? { cursor } : {}) };
        const res = JSON.parse((await list(apiEvent('GET', '/tasks', { query }), lambdaContext())).body) as { items: Array<{ taskId: string }>; nextCursor: string | null };
        seen.push(...res.items.map((t) => t.taskId));
        if (!res.nextCursor) break;
        cursor = res.nextCursor;
      }
      expect(seen, `status ${status}`).toEqual([...matching].reverse());
    }
  });
});

describe('9. nothing starts after the handler returns, and no task is left RUNNING without a message', () => {
  const gate = defineTask({
    name: 'inv_slow',
    payload: z.object({ ms: z.number() }),
    timeoutSeconds: 10,
    run: async ({ ms }) => {
      await sleep(ms);
      return { ms };
    },
  });

  it('does not claim the rest of a batch once it has answered at the deadline', async () => {
    const engine = await createTestEngine(aws, { workerConcurrency: 1, workerDeadlineMarginMs: 1_000 });
    const ids = [(await enqueue(gate, { ms: 2_000 }, {}, engine)).taskId];
    for (let i = 0; i < 2; i++) ids.push((await enqueue(counted, { key: `after-return-${i}` }, {}, engine)).taskId);
    const event = await receiveAll(aws.sqs, engine.config.queueUrls.default, 3);
    event.Records.sort((x, y) => ids.indexOf(JSON.parse(x.body).taskId) - ids.indexOf(JSON.parse(y.body).taskId));

    const response = await processBatch(engine, event, lambdaContext(1_500));
    await sleep(2_500);

    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(event.Records.map((r) => r.messageId).sort());
    expect(await engine.store.get(ids[1]!)).toMatchObject({ status: 'PENDING', attempts: 0 });
    expect(await engine.store.get(ids[2]!)).toMatchObject({ status: 'PENDING', attempts: 0 });
  });

  it('hands back a duplicate that finds the task running under a live lease, rather than deleting it', async () => {
    const engine = await createTestEngine(aws);
    const other = siblingEngine(aws, engine);
    const { taskId } = await enqueue(gate, { ms: 1_500 }, {}, engine);
    const message = await receiveAll(aws.sqs, engine.config.queueUrls.default, 1);
    const running = processBatch(engine, message, lambdaContext());
    await until(async () => (await engine.store.get(taskId))?.status === 'RUNNING');
    const duplicate: SQSRecord = { ...message.Records[0]!, messageId: 'duplicate-delivery' };

    const response = await processBatch(other.engine, { Records: [duplicate] }, lambdaContext());

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'duplicate-delivery' }]);
    const visibility = other.sqs.calls.find((c) => c.command === 'ChangeMessageVisibility');
    expect(visibility?.input.VisibilityTimeout).toBeGreaterThan(0);
    await running;
  });
});
