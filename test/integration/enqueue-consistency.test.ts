import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { testApi } from '../support/api';
import { withBackgroundTasks } from '../../lib/background';
import type { Engine } from '../../lib/engine';
import { enqueue } from '../../lib/enqueue';
import { BackgroundEnqueueError, DependencyUnavailableError } from '../../lib/errors';
import { withHttpErrors } from '../../lib/http/withHttpErrors';
import { processBatch } from '../../lib/worker';
import { processDeadLetters } from '../../lib/deadLetters';
import { defineTask } from '../../lib/task';
import { writeLog } from '../../lib/tasks/examples';
import { createTestEngine, dedicatedClients, startLocalAws, type LocalAws } from '../support/aws';
import { runUntilTerminal } from '../support/drive';
import { apiEvent, lambdaContext, receiveAll } from '../support/events';
import { installFaults, type FaultKit } from '../support/faults';
import * as z from '../../lib/zod';
import { expectErrorLogs } from '../support/logs';

// It refuses DynamoDB or SQS under each step of an enqueue.
expectErrorLogs(
  'Background tasks could not be enqueued; none was',
  'Enqueue failed and could not be stopped: the task may still run',
  'Request failed',
  'Task message could not be processed; SQS will deliver it again',
);

let aws: LocalAws;
let engine: Engine;
let sqsFaults: FaultKit;
let dynamoFaults: FaultKit;

beforeAll(async () => {
  aws = await startLocalAws();
  const clients = dedicatedClients(aws);
  sqsFaults = installFaults(clients.sqs);
  dynamoFaults = installFaults(clients.dynamo);
  engine = await createTestEngine(aws, {}, {}, clients);
});
afterAll(async () => aws.close());
beforeEach(() => {
  sqsFaults.clear();
  dynamoFaults.clear();
});

async function messagesIn(url: string): Promise<number> {
  const out = await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return Number(out.Attributes!.ApproximateNumberOfMessages) + Number(out.Attributes!.ApproximateNumberOfMessagesNotVisible);
}

describe('enqueue when one write fails', () => {
  it('SQS down: rejects with 503 and stops the task, so nothing of it runs', async () => {
    sqsFaults.add({ command: 'SendMessage', effect: 'fail' });
    const api = testApi(engine);

    const res = await api(apiEvent('POST', '/tasks', { body: { name: 'write_log', payload: { message: 'lost?' } } }), lambdaContext());

    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body)).toEqual({ error: { code: 'service_unavailable', message: 'SQS SendMessage failed' } });
    const taskId = dynamoFaults.calls.find((c) => c.command === 'PutItem')!.input.Item.taskId as string;
    expect(await engine.store.get(taskId)).toMatchObject({ status: 'CANCELLED', attempts: 0, error: { type: 'EnqueueFailed' } });
  });

  it('DynamoDB down: rejects with 503, and the message that went out never runs a task', async () => {
    dynamoFaults.add({ command: 'PutItem', effect: 'fail' });
    const url = engine.config.queueUrls.default;
    const before = await messagesIn(url);

    const error = await enqueue(writeLog, { message: 'orphan' }, {}, engine).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as DependencyUnavailableError).dependency).toBe('dynamodb');
    expect(await messagesIn(url)).toBe(before + 1);
    dynamoFaults.clear();
    const event = await receiveAll(aws.sqs, url, 1);
    const taskId = JSON.parse(event.Records[0]!.body).taskId as string;
    const response = await processBatch(engine, event, lambdaContext());
    // Handed back (it will reach the DLQ), and the DLQ consumer drops it without inventing a task.
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]!.messageId }]);
    expect(await processDeadLetters(engine, event)).toEqual({ batchItemFailures: [] });
    expect(await engine.store.get(taskId)).toBeUndefined();
  });

  it('with an Idempotency-Key, a retry after an SQS failure returns the same task, which then runs', async () => {
    const api = testApi(engine);
    const request = () => api(apiEvent('POST', '/tasks', { body: { name: 'write_log', payload: { message: 'again' } }, headers: { 'idempotency-key': 'k-1' } }), lambdaContext());
    sqsFaults.add({ command: 'SendMessage', effect: 'fail' });
    const failed = await request();
    sqsFaults.clear();

    const first = await request();
    const second = await request();

    expect(failed.statusCode).toBe(503);
    expect(first.statusCode).toBe(202);
    expect(JSON.parse(second.body).taskId).toBe(JSON.parse(first.body).taskId);
    const [record] = await runUntilTerminal(engine, aws, [JSON.parse(first.body).taskId]);
    expect(record!.status).toBe('SUCCEEDED');
  });
});

/** Breaks the table from inside a task: its claim has landed, its outcome write will not. */
const breaksTable = defineTask({
  name: 'test_breaks_table',
  payload: z.object({}),
  run: () => {
    dynamoFaults.add({ command: 'UpdateItem', effect: 'fail' });
    return { ran: true };
  },
});

describe('DynamoDB failing after the enqueue', () => {
  it('cannot claim (UpdateItem down): hands the message back, the task stays PENDING, and runs on the next delivery', async () => {
    const { taskId } = await enqueue(writeLog, { message: 'claim me later' }, {}, engine);
    const event = await receiveAll(aws.sqs, engine.config.queueUrls.default, 1);
    dynamoFaults.add({ command: 'UpdateItem', effect: 'fail' });

    const refused = await processBatch(engine, event, lambdaContext());

    expect(refused.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]!.messageId }]);
    dynamoFaults.clear();
    expect((await engine.store.get(taskId))!.status).toBe('PENDING');
    expect(await processBatch(engine, event, lambdaContext())).toEqual({ batchItemFailures: [] });
    expect((await engine.store.get(taskId))!.status).toBe('SUCCEEDED');
  });

  it('cannot record the outcome: hands the message back instead of acknowledging a task left RUNNING', async () => {
    const { taskId } = await enqueue(breaksTable, {}, {}, engine);
    const event = await receiveAll(aws.sqs, engine.config.queueUrls.default, 1);

    const response = await processBatch(engine, event, lambdaContext());

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]!.messageId }]);
    dynamoFaults.clear();
    // Claimed, and its lease will let the redelivery take it over.
    expect(await engine.store.get(taskId)).toMatchObject({ status: 'RUNNING', attempts: 1, leaseExpiresAt: expect.any(Number) });
  });

  it('cannot list (Query down) or cancel (its writes down): 503 JSON with Retry-After, not a 500', async () => {
    const api = testApi(engine);
    const { taskId } = await enqueue(writeLog, { message: 'cancel me' }, {}, engine);
    dynamoFaults.add({ command: 'Query', effect: 'fail' });
    dynamoFaults.add({ command: 'PutItem', effect: 'fail' });
    dynamoFaults.add({ command: 'UpdateItem', effect: 'fail' });

    const list = await api(apiEvent('GET', '/tasks'), lambdaContext());
    const cancel = await api(apiEvent('DELETE', `/tasks/${taskId}`), lambdaContext());

    for (const res of [list, cancel]) {
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(JSON.parse(res.body).error.code).toBe('service_unavailable');
    }
    dynamoFaults.clear();
    expect((await engine.store.get(taskId))!.status).toBe('PENDING');
  });
});

describe('withBackgroundTasks', () => {
  const ctx = {} as Context;
  const httpEvent = apiEvent('POST', '/signup');

  it('enqueues everything added before the response, ten per SendMessageBatch', async () => {
    const handler = withBackgroundTasks(
      async (_event: unknown, _ctx, backgroundTasks) => {
        for (let i = 0; i < 23; i++) backgroundTasks.add(writeLog, { message: `bg${i}` });
        return { statusCode: 200, body: 'ok' };
      },
      { engine: () => engine },
    );

    const res = await handler(httpEvent, ctx);

    expect(res).toEqual({ statusCode: 200, body: 'ok' });
    expect(sqsFaults.count('SendMessageBatch')).toBe(3);
    expect(sqsFaults.count('SendMessage')).toBe(0);
  });

  it('throws BackgroundEnqueueError instead of returning when the enqueue fails, which withHttpErrors answers as a 503', async () => {
    sqsFaults.add({ command: 'SendMessageBatch', effect: 'fail' });
    const handler = withBackgroundTasks(
      async (_event: unknown, _ctx, backgroundTasks) => {
        backgroundTasks.add(writeLog, { message: 'must not vanish' });
        return { statusCode: 200, body: 'ok' };
      },
      { engine: () => engine },
    );

    await expect(handler(httpEvent, ctx)).rejects.toBeInstanceOf(BackgroundEnqueueError);
    const res = (await withHttpErrors(handler)(httpEvent, ctx)) as { statusCode: number; headers: Record<string, string>; body: string };

    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(JSON.parse(res.body).error.code).toBe('background_enqueue_failed');
  });

  it('throws BackgroundEnqueueError outside HTTP too: the trigger retries', async () => {
    sqsFaults.add({ command: 'SendMessageBatch', effect: 'fail' });
    const handler = withBackgroundTasks(
      async (_event: unknown, _ctx, backgroundTasks) => {
        backgroundTasks.add(writeLog, { message: 'from a queue' });
        return 'done';
      },
      { engine: () => engine },
    );

    const error = await handler({ Records: [] }, ctx).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BackgroundEnqueueError);
    expect((error as BackgroundEnqueueError).failures).toEqual([{ name: 'write_log', error: expect.objectContaining({ code: 'service_unavailable' }) }]);
  });

  it('is all or nothing when one task is refused at the end (a runAt too far ahead): none of the others is written or sent', async () => {
    let ids: string[] = [];
    const handler = withBackgroundTasks(
      async (_event: unknown, _ctx, backgroundTasks) => {
        ids = [backgroundTasks.add(writeLog, { message: 'first' }).taskId, backgroundTasks.add(writeLog, { message: 'too late' }, { runAt: new Date(Date.now() + 400 * 86_400_000) }).taskId];
        return 'done';
      },
      { engine: () => engine },
    );

    const error = await handler({ Records: [] }, ctx).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BackgroundEnqueueError);
    expect((error as BackgroundEnqueueError).failures.map((f) => f.error.code)).toEqual(['validation_error', 'validation_error']);
    expect(await engine.store.get(ids[0]!)).toBeUndefined();
    expect(sqsFaults.count('SendMessageBatch') + sqsFaults.count('SendMessage')).toBe(0);
  });

  it('refuses a debounce at add(): a burst is joined one request at a time, never in an all-or-nothing batch', () => {
    const handler = withBackgroundTasks(
      async (_event: unknown, _ctx, backgroundTasks) => {
        // @ts-expect-error -- debounce is not an option of add()
        backgroundTasks.add(writeLog, { message: 'x' }, { debounce: { key: 'k', seconds: 5 } });
        return 'done';
      },
      { engine: () => engine },
    );

    return expect(handler({ Records: [] }, ctx)).rejects.toMatchObject({ code: 'validation_error', message: 'Invalid enqueue options' });
  });

  it('drops tasks added before a throw, except those added with evenOnError', async () => {
    let ids: string[] = [];
    const handler = withBackgroundTasks(
      async (_event: unknown, _ctx, backgroundTasks) => {
        ids = [backgroundTasks.add(writeLog, { message: 'dropped' }).taskId, backgroundTasks.add(writeLog, { message: 'audit' }, { evenOnError: true }).taskId];
        throw new Error('handler failed');
      },
      { engine: () => engine },
    );

    await expect(handler(httpEvent, ctx)).rejects.toThrow('handler failed');

    expect(await engine.store.get(ids[0]!)).toBeUndefined();
    expect(await engine.store.get(ids[1]!)).toMatchObject({ status: 'PENDING', payload: { message: 'audit' } });
  });

  it('says which tasks were lost when evenOnError tasks cannot be enqueued, and still throws the handler\'s error', async () => {
    sqsFaults.add({ command: 'SendMessageBatch', effect: 'fail' });
    const logger = new Logger({ logLevel: 'SILENT' });
    const logged = vi.spyOn(logger, 'error');
    const quiet = { ...engine, logger };
    const handler = withBackgroundTasks(
      async (_event: unknown, _ctx, backgroundTasks) => {
        backgroundTasks.add(writeLog, { message: 'audit' }, { evenOnError: true });
        throw new Error('handler failed');
      },
      { engine: () => quiet },
    );

    await expect(handler(httpEvent, ctx)).rejects.toThrow('handler failed');
    expect(logged).toHaveBeenCalledWith('Background tasks added with evenOnError were not enqueued', { failures: [{ name: 'write_log', code: 'service_unavailable' }] });

    sqsFaults.clear();
    logged.mockClear();
    await expect(handler(httpEvent, ctx)).rejects.toThrow('handler failed');
    expect(logged).not.toHaveBeenCalled();
  });

  it('throws at add() for a payload that fails the schema', async () => {
    const handler = withBackgroundTasks(
      async (_event: unknown, _ctx, backgroundTasks) => {
        // @ts-expect-error the payload type comes from the schema
        backgroundTasks.add(writeLog, { message: 1 });
        return 'unreachable';
      },
      { engine: () => engine },
    );

    await expect(handler({}, ctx)).rejects.toThrow(/does not match the schema/);
  });
});
