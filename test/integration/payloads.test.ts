import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { withBackgroundTasks } from '../../lib/background';
import type { Engine } from '../../lib/engine';
import { enqueue } from '../../lib/enqueue';
import { BackgroundEnqueueError, DependencyUnavailableError } from '../../lib/errors';
import { MAX_OBJECT_BYTES, S3_THRESHOLD_BYTES, TABLE_ONLY_LIMITS } from '../../lib/payloads/limits';
import { slotsPk } from '../../lib/control/keys';
import { payloadObjectKey } from '../../lib/payloads/objectKeys';
import { defineTask } from '../../lib/task';
import { checksum } from '../../lib/tasks/examples';
import { createTestEngine, siblingEngine, startLocalAws, testBucket, type LocalAws } from '../support/aws';
import { call, testApi, type Json } from '../support/api';
import { runUntilTerminal } from '../support/drive';
import { apiEvent, lambdaContext, receiveEvent } from '../support/events';
import { rejection, timeoutError } from '../support/faults';
import { expectErrorLogs } from '../support/logs';

/**
 * Payloads and results up to 5 MB (lib/payloads): over 6 KB they go to the
 * stage's bucket before anything else of their task, against the real local
 * servers (dynalite, local-aws-sqs and the S3 server), with faults on the
 * sibling engines' S3 clients.
 */
let aws: LocalAws;
let engine: Engine;

// The worker logs an ERROR for a message it cannot process (here: S3 refusing a payload's read) and for a task that ends FAILED.
expectErrorLogs('Task message could not be processed', 'Task failed', 'Request failed', 'Background tasks could not be enqueued; none was');

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
/** A string whose JSON payload `{"data": ...}` is `bytes` long. */
const dataOf = (bytes: number, fill = 'x') => fill.repeat(bytes - '{"data":""}'.length);

/** Returns `size` bytes of `fill` as its result; fails its first `failTimes` attempts. */
const bigResult = defineTask({
  name: 'payloads_big_result',
  payload: z.object({ size: z.int(), fill: z.string(), failTimes: z.optional(z.int()) }),
  backoff: { baseSeconds: 0.1, maxSeconds: 0.2 },
  run: ({ size, fill, failTimes = 0 }, ctx) => {
    if (ctx.attempt <= failTimes) throw new Error(`failing attempt ${ctx.attempt}`);
    return { text: fill.repeat(Math.floor(size / fill.length)) };
  },
});

/** Fails every attempt, whatever its payload: for manual retries. */
let failing = true;
const failsUntilFixed = defineTask({
  name: 'payloads_fails_until_fixed',
  payload: z.object({ data: z.string() }),
  maxAttempts: 1,
  run: ({ data }) => {
    if (failing) throw new Error('not yet');
    return { sha256: sha256(data) };
  },
});

/** At most one at a time per tenant, the tenant read from a payload large enough for S3: the limit needs the payload before the claim. */
let keysSeen: string[] = [];
const perTenant = defineTask({
  name: 'payloads_per_tenant',
  payload: z.object({ tenant: z.string(), data: z.string() }),
  concurrency: 1,
  concurrencyKey: ({ tenant }) => {
    keysSeen.push(tenant);
    return tenant;
  },
  run: ({ tenant, data }) => ({ tenant, sha256: sha256(data) }),
});

beforeAll(async () => {
  aws = await startLocalAws();
  engine = await createTestEngine(aws, { payloadBucket: testBucket() });
});
afterAll(async () => aws.close());

/** The S3 calls of a sibling engine, by command. */
function sibling() {
  return siblingEngine(aws, engine);
}

describe('a payload over the threshold', () => {
  it('goes to S3 at 5 MB, and the handler sees every byte', async () => {
    const data = dataOf(MAX_OBJECT_BYTES);
    const { engine: api, s3 } = sibling();

    const res = await call(testApi(api), 'POST', '/tasks', { body: { name: 'checksum', payload: { data } } });

    expect(res.status).toBe(202);
    expect(s3.count('PutObject')).toBe(1);
    const { task } = await api.store.getItems(res.body!.taskId as string);
    expect(task).toMatchObject({ payloadObject: payloadObjectKey(res.body!.taskId as string), payloadBytes: MAX_OBJECT_BYTES });
    expect(task!.payloadJson).toBeUndefined();
    const [record] = await runUntilTerminal(engine, aws, [res.body!.taskId as string]);
    expect(record).toMatchObject({ status: 'SUCCEEDED', result: { sha256: sha256(data), bytes: data.length } });
  });

  it('stays in the table up to 6 KB, and goes to S3 one byte above', async () => {
    const { engine: api, s3 } = sibling();
    const at = await enqueue(checksum, { data: dataOf(S3_THRESHOLD_BYTES) }, {}, api);
    expect(s3.count('PutObject')).toBe(0);
    expect((await api.store.getItems(at.taskId)).task!.payloadObject).toBeUndefined();

    const above = await enqueue(checksum, { data: dataOf(S3_THRESHOLD_BYTES + 1) }, {}, api);
    expect(s3.count('PutObject')).toBe(1);
    expect((await api.store.getItems(above.taskId)).task!.payloadObject).toBe(payloadObjectKey(above.taskId));
    const records = await runUntilTerminal(engine, aws, [at.taskId, above.taskId]);
    expect(records.map((r) => (r.result as { bytes: number }).bytes)).toEqual([S3_THRESHOLD_BYTES - 11, S3_THRESHOLD_BYTES - 10]);
  });

  it('over 5 MB is refused with 413, naming the limit, and nothing is written', async () => {
    const { engine: api, s3 } = sibling();
    const res = await call(testApi(api), 'POST', '/tasks', { body: { name: 'checksum', payload: { data: dataOf(MAX_OBJECT_BYTES + 1) } } });

    expect(res.status).toBe(413);
    expect(res.body!.error).toEqual({ code: 'payload_too_large', message: `Payload is ${MAX_OBJECT_BYTES + 1} bytes; the limit is ${MAX_OBJECT_BYTES}` });
    expect(s3.count('PutObject')).toBe(0);
  });

  it('whose upload fails is not enqueued: 503, no record, no message, nothing runs', async () => {
    const { engine: api, s3, sqs, dynamo } = sibling();
    s3.add({ command: 'PutObject', effect: 'fail' });

    const res = await call(testApi(api), 'POST', '/tasks', { body: { name: 'checksum', payload: { data: dataOf(64 * 1024) } } });

    expect(res.status).toBe(503);
    expect(res.body!.error).toEqual({ code: 'service_unavailable', message: 'S3 PutObject failed' });
    expect(sqs.count('SendMessage')).toBe(0);
    expect(dynamo.calls.map((c) => c.command)).toEqual([]);
    expect((await receiveEvent(aws.sqs, engine.config.queueUrls.default, 10, 0)).Records).toEqual([]);
  });

  it('whose upload’s answer is lost below the SDK’s retries is written again, the same bytes: one task, 202, and it runs', async () => {
    const { engine: api, s3 } = sibling();
    const lost = s3.add({ command: 'PutObject', effect: 'lose-answer', step: 'deserialize', error: timeoutError, times: 1 });
    const data = dataOf(100 * 1024);

    const res = await call(testApi(api), 'POST', '/tasks', { body: { name: 'checksum', payload: { data } } });

    expect(res.status).toBe(202);
    expect(lost.hits).toBe(1);
    expect(s3.count('PutObject')).toBe(1);
    const [record] = await runUntilTerminal(engine, aws, [res.body!.taskId as string]);
    expect(record).toMatchObject({ status: 'SUCCEEDED', result: { sha256: sha256(data) } });
  });

  it('whose upload hangs is given up at the request’s budget: 503 before the Lambda’s deadline, nothing enqueued', async () => {
    const { engine: api, s3, sqs } = sibling();
    s3.add({ command: 'PutObject', effect: 'hang' });
    const started = Date.now();

    // 7 s left, 5 s kept to resolve: the upload may take 2 s.
    const res = await testApi(api)(apiEvent('POST', '/tasks', { body: { name: 'checksum', payload: { data: dataOf(10 * 1024) } } }), lambdaContext(7_000));

    expect(res.statusCode).toBe(503);
    expect(Date.now() - started).toBeLessThan(6_500);
    expect(sqs.count('SendMessage')).toBe(0);
  });
});

describe('an Idempotency-Key', () => {
  it('with a large payload: one task, whose payload both requests would write the same; a failed upload answers 503, and the next request with the key enqueues it', async () => {
    const { engine: api, s3 } = sibling();
    const data = dataOf(20 * 1024);
    const headers = { 'idempotency-key': `payloads-${Date.now()}` };
    const failed = s3.add({ command: 'PutObject', effect: 'fail', times: 1 });

    const first = await call(testApi(api), 'POST', '/tasks', { body: { name: 'checksum', payload: { data } }, headers });
    expect(first.status).toBe(503);
    expect(failed.hits).toBe(1);
    const [second, third] = await Promise.all([
      call(testApi(api), 'POST', '/tasks', { body: { name: 'checksum', payload: { data } }, headers }),
      call(testApi(engine), 'POST', '/tasks', { body: { name: 'checksum', payload: { data } }, headers }),
    ]);

    expect([second.status, third.status]).toEqual([202, 202]);
    expect(second.body!.taskId).toBe(third.body!.taskId);
    const [record] = await runUntilTerminal(engine, aws, [second.body!.taskId as string]);
    expect(record).toMatchObject({ status: 'SUCCEEDED', run: 2, result: { sha256: sha256(data) } });
  });
});

describe('withBackgroundTasks', () => {
  it('is all or nothing when a payload’s upload fails: no record, no message, the wrapper throws', async () => {
    const { engine: api, s3, sqs } = sibling();
    s3.add({ command: 'PutObject', effect: 'fail' });
    const ids: string[] = [];
    const handler = withBackgroundTasks(
      async (_event: unknown, _ctx, backgroundTasks) => {
        ids.push(backgroundTasks.add(checksum, { data: 'small' }).taskId);
        ids.push(backgroundTasks.add(checksum, { data: dataOf(50 * 1024) }).taskId);
        return 'answered';
      },
      { engine: () => api },
    );

    const error = await rejection(handler({}, lambdaContext()));

    expect(error).toBeInstanceOf(BackgroundEnqueueError);
    expect((error as BackgroundEnqueueError).failures.map((f) => f.error.code)).toEqual(['service_unavailable', 'service_unavailable']);
    expect(sqs.count('SendMessageBatch') + sqs.count('SendMessage')).toBe(0);
    for (const id of ids) expect(await api.store.getItems(id)).toEqual({});
  });

  it('and a batch request rejects only the items whose upload failed', async () => {
    const { engine: api, s3 } = sibling();
    s3.add({ command: 'PutObject', effect: 'fail', when: (input: { Key: string }) => input.Key.endsWith('.json'), times: 1 });
    const res = await call(testApi(api), 'POST', '/tasks/batch', {
      body: { tasks: [{ name: 'checksum', payload: { data: 'small' } }, { name: 'checksum', payload: { data: dataOf(50 * 1024) } }] },
    });

    expect(res.status).toBe(202);
    expect(res.body!.items.map((i: Json) => [i.ok, i.httpStatus])).toEqual([
      [true, 202],
      [false, 503],
    ]);
    await runUntilTerminal(engine, aws, [res.body!.items[0].taskId as string]);
  });
});

describe('a result over the threshold', () => {
  it('at 5 MB goes to S3 and reads back whole from GET /tasks/{id}', async () => {
    const { taskId } = await enqueue(bigResult, { size: MAX_OBJECT_BYTES - 20, fill: 'r' }, {}, engine);
    await runUntilTerminal(engine, aws, [taskId]);

    const state = await engine.store.getState(taskId);
    expect(state!.resultJson).toBeUndefined();
    expect(state!.resultObject).toEqual({ key: `results/${taskId}/1-1.json`, bytes: MAX_OBJECT_BYTES - 20 + '{"text":""}'.length });
    const res = await call(testApi(engine), 'GET', `/tasks/${taskId}`);
    expect(res.status).toBe(200);
    expect((res.body!.result as { text: string }).text).toBe('r'.repeat(MAX_OBJECT_BYTES - 20));
    expect(res.body!.resultUrl).toBeUndefined();
    expect(Buffer.byteLength(JSON.stringify(res.raw))).toBeLessThanOrEqual(6 * 1024 * 1024);
  });

  it('too large for Lambda’s 6 MB answer once its quotes are escaped is linked: resultUrl, a presigned GET of every byte', async () => {
    // 2.4 MB of quotes: 4.8 MB as JSON (each one \"), within the 5 MB; 9.6 MB inside Lambda's answer (each one \\\").
    const { taskId } = await enqueue(bigResult, { size: 2_400_000, fill: '"' }, {}, engine);
    await runUntilTerminal(engine, aws, [taskId]);

    const res = await call(testApi(engine), 'GET', `/tasks/${taskId}`);

    expect(res.status).toBe(200);
    expect(res.body!.result).toBeNull();
    expect(Buffer.byteLength(JSON.stringify(res.raw))).toBeLessThan(64 * 1024);
    const linked = await fetch(res.body!.resultUrl as string);
    expect(linked.status).toBe(200);
    expect(((await linked.json()) as { text: string }).text).toBe('"'.repeat(2_400_000));
  });

  it('whose write to S3 fails fails the attempt (ResultNotStored), which is retried and then recorded', async () => {
    const { engine: worker, s3 } = sibling();
    s3.add({ command: 'PutObject', effect: 'fail', times: 1 });
    const { taskId } = await enqueue(bigResult, { size: 10 * 1024, fill: 'w' }, {}, engine);

    const [record] = await runUntilTerminal(worker, aws, [taskId]);

    expect(record).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    expect(record!.attemptLog.map((a) => [a.outcome, a.error?.type])).toEqual([
      ['failed', 'ResultNotStored'],
      ['succeeded', undefined],
    ]);
    expect(record!.resultObject).toEqual({ key: `results/${taskId}/1-2.json`, bytes: 10 * 1024 + '{"text":""}'.length });
  });
});

/** A 10 KB result, with a lease that ends a second after its timeout: for an attempt whose outcome is lost. */
const leasedResult = defineTask({
  name: 'payloads_leased_result',
  payload: z.object({}),
  timeoutSeconds: 1,
  run: () => ({ text: 'l'.repeat(10 * 1024) }),
});

describe('a result written whose outcome is not', () => {
  it('is named by no record: the attempt that takes over writes its own object, and the record names that one', async () => {
    const { engine: worker, dynamo } = siblingEngine(aws, engine, { leaseMarginMs: 1 });
    dynamo.add({ command: 'UpdateItem', effect: 'fail', when: (input: { UpdateExpression?: string }) => Boolean(input.UpdateExpression?.includes('resultObject')), times: 1 });
    const { taskId } = await enqueue(leasedResult, {}, {}, engine);

    const [record] = await runUntilTerminal(worker, aws, [taskId]);

    expect(record).toMatchObject({ status: 'SUCCEEDED', attempts: 2, resultObject: { key: `results/${taskId}/1-2.json`, bytes: 10 * 1024 + 11 } });
    // The first attempt's object is there, named by nothing: the bucket's lifecycle rule removes it with the task's retention.
    expect(await engine.objects!.get(`results/${taskId}/1-1.json`)).toBe(JSON.stringify({ text: 'l'.repeat(10 * 1024) }));
  });
});

describe('retries', () => {
  it('reuse the stored payload: attempts read it, a manual retry renews it, and nothing is uploaded again', async () => {
    const { engine: api, s3 } = sibling();
    const data = dataOf(30 * 1024);
    failing = true;
    const { taskId } = await enqueue(failsUntilFixed, { data }, {}, api);
    const [failed] = await runUntilTerminal(api, aws, [taskId]);
    expect(failed).toMatchObject({ status: 'FAILED' });

    failing = false;
    const retried = await call(testApi(api), 'POST', `/tasks/${taskId}/retry`);
    expect(retried.status).toBe(202);
    const [record] = await runUntilTerminal(api, aws, [taskId]);

    expect(record).toMatchObject({ status: 'SUCCEEDED', run: 2, result: { sha256: sha256(data) } });
    expect(s3.count('PutObject')).toBe(1);
    expect(s3.count('CopyObject')).toBe(1);
    expect(s3.count('GetObject')).toBe(2);
  });

  it('by the worker read the same object each attempt', async () => {
    const { engine: worker, s3 } = sibling();
    const { taskId } = await enqueue(bigResult, { size: 10, fill: 'x', failTimes: 2 }, {}, engine);
    // A payload of its own over the threshold: written once, by the enqueue.
    const big = await enqueue(bigResult, { size: 10, fill: 'y'.repeat(8 * 1024), failTimes: 1 }, {}, engine);

    const records = await runUntilTerminal(worker, aws, [taskId, big.taskId]);

    expect(records.map((r) => [r.status, r.attempts])).toEqual([
      ['SUCCEEDED', 3],
      ['SUCCEEDED', 2],
    ]);
    expect(s3.count('PutObject')).toBe(0);
    expect(s3.calls.filter((c) => c.command === 'GetObject').map((c) => c.input.Key)).toEqual([payloadObjectKey(big.taskId), payloadObjectKey(big.taskId)]);
  });

  it('a manual retry whose renewal fails is put back as it was: 503, still FAILED', async () => {
    const { engine: api, s3 } = sibling();
    failing = true;
    const { taskId } = await enqueue(failsUntilFixed, { data: dataOf(10 * 1024) }, {}, api);
    await runUntilTerminal(api, aws, [taskId]);
    s3.add({ command: 'CopyObject', effect: 'fail' });

    const res = await call(testApi(api), 'POST', `/tasks/${taskId}/retry`);

    expect(res.status).toBe(503);
    // Put back FAILED (under the new run's number, so that nothing of it can run).
    expect(await api.store.get(taskId)).toMatchObject({ status: 'FAILED', attempts: 1, error: { type: 'Error', message: 'not yet' } });
  });
});

describe('the worker', () => {
  it('that cannot read a payload from S3 gives the claim back: the attempt is not spent, and the message comes back', async () => {
    const { engine: worker, s3 } = sibling();
    const data = dataOf(10 * 1024);
    const { taskId } = await enqueue(checksum, { data }, {}, engine);
    s3.add({ command: 'GetObject', effect: 'fail', times: 1 });
    const first = await receiveEvent(aws.sqs, engine.config.queueUrls.default);

    const response = await (await import('../../lib/worker')).processBatch(worker, first, lambdaContext());

    expect(response.batchItemFailures).toHaveLength(1);
    expect(await worker.store.getState(taskId)).toMatchObject({ status: 'PENDING', attempts: 0 });
    // Sent again (as SQS would, after the backoff): it runs.
    await aws.sqs.send(new SendMessageCommand({ QueueUrl: engine.config.queueUrls.default, MessageBody: first.Records[0]!.body }));
    const [record] = await runUntilTerminal(worker, aws, [taskId]);
    expect(record).toMatchObject({ status: 'SUCCEEDED', attempts: 1, result: { sha256: sha256(data) } });
  });

  it('reads a payload kept in S3 before the claim when the task type has a limit keyed by it, once, and the attempt runs with it', async () => {
    const { engine: worker, s3 } = sibling();
    const data = dataOf(10 * 1024);
    const { taskId } = await enqueue(perTenant, { tenant: 'acme', data }, {}, engine);
    keysSeen = [];

    const [record] = await runUntilTerminal(worker, aws, [taskId]);

    expect(record).toMatchObject({ status: 'SUCCEEDED', attempts: 1, result: { tenant: 'acme', sha256: sha256(data) } });
    expect(keysSeen).toEqual(['acme']);
    expect(s3.count('GetObject')).toBe(1);
    const slots = await worker.store.client.send(new QueryCommand({ TableName: worker.store.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': slotsPk('payloads_per_tenant', 'acme') } }));
    // The slot was taken under the payload's key, and given back.
    expect(slots.Items).toHaveLength(1);
    expect(slots.Items![0]!.holder).toBeUndefined();
  });
});

describe('a debounced enqueue', () => {
  it('keeps its payloads in the table, so one over 256 KB is refused with 413 even with a bucket, and nothing is written', async () => {
    const { engine: api, s3 } = sibling();
    const body = (bytes: number) => ({ name: 'checksum', payload: { data: dataOf(bytes) }, debounce: { key: 'doc-1', seconds: 5 } });

    const refused = await call(testApi(api), 'POST', '/tasks', { body: body(TABLE_ONLY_LIMITS.payloadBytes + 1) });
    const accepted = await call(testApi(api), 'POST', '/tasks', { body: body(TABLE_ONLY_LIMITS.payloadBytes) });

    expect(refused.status).toBe(413);
    expect(refused.body!.error).toEqual({
      code: 'payload_too_large',
      message: `Payload is ${TABLE_ONLY_LIMITS.payloadBytes + 1} bytes; the limit is ${TABLE_ONLY_LIMITS.payloadBytes} for a debounced task (each request of a burst keeps its payload in the table)`,
    });
    expect(accepted.status).toBe(202);
    expect(s3.count('PutObject')).toBe(0);
  });
});

describe('a task first due more than half the retention ahead', () => {
  it('keeps its payload in the table, as S3 would expire it before the task runs: up to 256 KB, and 413 above, saying why', async () => {
    const { engine: api, s3 } = sibling();
    const halfRetentionMs = (api.config.retentionDays / 2) * 86_400_000;
    const body = (bytes: number, aheadMs: number) => ({ name: 'checksum', payload: { data: dataOf(bytes) }, runAt: new Date(Date.now() + aheadMs).toISOString() });

    const far = await call(testApi(api), 'POST', '/tasks', { body: body(10 * 1024, halfRetentionMs + 3_600_000) });
    const tooLarge = await call(testApi(api), 'POST', '/tasks', { body: body(TABLE_ONLY_LIMITS.payloadBytes + 1, halfRetentionMs + 3_600_000) });
    expect(s3.count('PutObject')).toBe(0);
    const near = await call(testApi(api), 'POST', '/tasks', { body: body(10 * 1024, halfRetentionMs - 3_600_000) });

    expect([far.status, tooLarge.status, near.status]).toEqual([202, 413, 202]);
    expect((await api.store.getItems(far.body!.taskId as string)).task).toMatchObject({ payloadBytes: 10 * 1024 });
    expect((await api.store.getItems(far.body!.taskId as string)).task!.payloadObject).toBeUndefined();
    expect(tooLarge.body!.error.message).toBe(
      `Payload is ${TABLE_ONLY_LIMITS.payloadBytes + 1} bytes; the limit is ${TABLE_ONLY_LIMITS.payloadBytes} for a task first due more than ${api.config.retentionDays / 2} days ahead (its payload is kept in the table: S3 keeps one ${api.config.retentionDays} days)`,
    );
    // One due sooner goes to S3 as usual.
    expect(s3.count('PutObject')).toBe(1);
    expect((await api.store.getItems(near.body!.taskId as string)).task!.payloadObject).toBeDefined();
  });
});

describe('GET /tasks/{id}', () => {
  it('embeds a payload kept in S3 up to 256 KB, and links to a larger one (payloadUrl)', async () => {
    const small = await enqueue(checksum, { data: dataOf(200 * 1024) }, {}, engine);
    const large = await enqueue(checksum, { data: dataOf(300 * 1024) }, {}, engine);
    const api = testApi(engine);

    const embedded = await call(api, 'GET', `/tasks/${small.taskId}`);
    const linked = await call(api, 'GET', `/tasks/${large.taskId}`);

    expect(embedded.body!.payload).toEqual({ data: dataOf(200 * 1024) });
    expect(embedded.body!.payloadUrl).toBeUndefined();
    expect(linked.body!.payload).toBeNull();
    expect(await (await fetch(linked.body!.payloadUrl as string)).json()).toEqual({ data: dataOf(300 * 1024) });
    await runUntilTerminal(engine, aws, [small.taskId, large.taskId]);
  });

  it('answers 503 when S3 cannot be read, like the table', async () => {
    const { engine: api, s3 } = sibling();
    const { taskId } = await enqueue(checksum, { data: dataOf(10 * 1024) }, {}, engine);
    s3.add({ command: 'GetObject', effect: 'fail' });

    const res = await call(testApi(api), 'GET', `/tasks/${taskId}`);

    expect(res.status).toBe(503);
    expect(res.body!.error.message).toBe('S3 GetObject failed');
    await runUntilTerminal(engine, aws, [taskId]);
  });
});

describe('without a bucket', () => {
  it('keeps everything in the table, up to its limits: 256 KB payloads, 64 KB results', async () => {
    const tableOnly = await createTestEngine(aws);
    const error = await rejection(enqueue(checksum, { data: dataOf(256 * 1024 + 1) }, {}, tableOnly));
    expect(error).toMatchObject({ code: 'payload_too_large', message: `Payload is ${256 * 1024 + 1} bytes; the limit is ${256 * 1024}` });
    const { taskId } = await enqueue(bigResult, { size: 65 * 1024, fill: 'z' }, {}, tableOnly);
    const [record] = await runUntilTerminal(tableOnly, aws, [taskId]);
    expect(record!.result).toMatchObject({ truncated: true, reason: `result is ${65 * 1024 + 11} bytes; the limit is ${64 * 1024}` });
    expect(error).not.toBeInstanceOf(DependencyUnavailableError);
  });
});
