import { ChangeMessageVisibilityCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { claimTask } from '../../lib/attempts';
import type { Engine } from '../../lib/engine';
import { enqueue } from '../../lib/enqueue';
import { processBatch } from '../../lib/executor';
import { defineTask } from '../../lib/task';
import { writeLog } from '../../lib/tasks/examples';
import { createTestEngine, dedicatedClients, startLocalAws, type LocalAws } from '../support/aws';
import { runUntilTerminal } from '../support/drive';
import { lambdaContext, receiveAll } from '../support/events';
import { throttle } from '../support/faults';

let aws: LocalAws;
let engine: Engine;

const runs = new Map<string, number>();
const slowOnce = defineTask({
  name: 'test_slow_once',
  payload: z.object({ key: z.string() }),
  maxAttempts: 3,
  timeoutSeconds: 1,
  run: ({ key }) => {
    runs.set(key, (runs.get(key) ?? 0) + 1);
    return { key };
  },
});

beforeAll(async () => {
  aws = await startLocalAws();
  engine = await createTestEngine(aws, { leaseMarginMs: 200 });
});
afterAll(async () => aws.close());

describe('a worker that dies mid-task', () => {
  it('leaves a lease that expires; the redelivered message takes the task over and it ends SUCCEEDED', async () => {
    const { taskId } = await enqueue(slowOnce, { key: 'crash' }, {}, engine);
    const event = await receiveAll(aws.sqs, engine.config.queueUrls.default, 1);
    // Attempt 1 claims the task and then its worker vanishes: no outcome, no delete.
    const claim = await claimTask(engine.store, taskId, new Date(), 1_000 + engine.config.leaseMarginMs);
    expect(claim.outcome).toBe('claimed');
    // A duplicate delivery while the lease is live is acknowledged and skipped.
    expect((await processBatch(engine, event, lambdaContext())).batchItemFailures).toEqual([]);
    expect(runs.get('crash')).toBeUndefined();
    // The dead worker's message becomes visible again (short here; 5400 s on AWS).
    await aws.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: engine.config.queueUrls.default, ReceiptHandle: event.Records[0]!.receiptHandle, VisibilityTimeout: 2 }));

    const [record] = await runUntilTerminal(engine, aws, [taskId]);

    expect(record).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    expect(record!.attemptLog.map((a) => a.attempt)).toEqual([2]);
    expect(runs.get('crash')).toBe(1);
  });
});

describe('throttling', () => {
  it('retries throttled DynamoDB and SQS calls in the SDK and loses nothing', async () => {
    const clients = dedicatedClients(aws);
    const throttled = await createTestEngine(aws, {}, {}, clients);
    const put = throttle(clients.dynamo, 'PutItem', 2, 'ProvisionedThroughputExceededException');
    const send = throttle(clients.sqs, 'SendMessage', 2);
    const claim = throttle(clients.dynamo, 'UpdateItem', 2);

    const { taskId } = await enqueue(writeLog, { message: 'throttled' }, {}, throttled);
    const [record] = await runUntilTerminal(throttled, aws, [taskId]);

    expect([put.thrown, send.thrown, claim.thrown]).toEqual([2, 2, 2]);
    expect(record).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  });
});

describe('poison', () => {
  it('hands back an oversized garbage message without failing the batch', async () => {
    const good = await enqueue(writeLog, { message: 'next to garbage' }, {}, engine);
    await aws.sqs.send(new SendMessageCommand({ QueueUrl: engine.config.queueUrls.default, MessageBody: `{"v":1,"taskId":"${'Z'.repeat(200_000)}"}` }));
    const event = await receiveAll(aws.sqs, engine.config.queueUrls.default, 2);

    const response = await processBatch(engine, event, lambdaContext());

    const garbage = event.Records.find((r) => !r.body.includes(good.taskId))!;
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: garbage.messageId }]);
    expect((await engine.store.get(good.taskId))?.status).toBe('SUCCEEDED');
  });
});
