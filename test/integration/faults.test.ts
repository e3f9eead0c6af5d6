import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Engine } from '../../lib/engine';
import { enqueue } from '../../lib/enqueue';
import { processBatch } from '../../lib/worker';
import { defineTask } from '../../lib/task';
import { writeLog } from '../../lib/tasks/examples';
import { createTestEngine, dedicatedClients, startLocalAws, type LocalAws } from '../support/aws';
import { claimById, runUntilTerminal } from '../support/drive';
import { lambdaContext, receiveAll } from '../support/events';
import { installFaults, throttlingError } from '../support/faults';
import { expectErrorLogs } from '../support/logs';

// It sends poison messages.
expectErrorLogs(
  'Message is not a task message',
);

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
    await claimById(engine, taskId, new Date(), 1_000 + engine.config.leaseMarginMs);
    // Its message, delivered again while the lease is live, runs nothing and comes back when the lease ends.
    const { leaseExpiresAt } = (await engine.store.get(taskId))!;
    expect((await processBatch(engine, event, lambdaContext())).batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]!.messageId }]);
    expect(runs.get('crash')).toBeUndefined();

    const [record] = await runUntilTerminal(engine, aws, [taskId]);

    expect(record).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    expect(record!.attemptLog.map((a) => a.attempt)).toEqual([2]);
    expect(Date.parse(record!.attemptLog[0]!.startedAt)).toBeGreaterThanOrEqual(leaseExpiresAt!);
    expect(runs.get('crash')).toBe(1);
  });
});

describe('throttling', () => {
  it('retries throttled DynamoDB and SQS calls in the SDK and loses nothing', async () => {
    const clients = dedicatedClients(aws);
    const throttled = await createTestEngine(aws, {}, {}, clients);
    const dynamo = installFaults(clients.dynamo);
    const sqs = installFaults(clients.sqs);
    // Below the SDK's retries, so that its own retries are what is tested.
    const throttled2 = (name?: string) => ({ effect: 'fail' as const, step: 'deserialize' as const, times: 2, error: () => throttlingError(name) });
    const put = dynamo.add({ command: 'PutItem', ...throttled2('ProvisionedThroughputExceededException') });
    const send = sqs.add({ command: 'SendMessage', ...throttled2() });
    const claim = dynamo.add({ command: 'UpdateItem', ...throttled2() });

    const { taskId } = await enqueue(writeLog, { message: 'throttled' }, {}, throttled);
    const [record] = await runUntilTerminal(throttled, aws, [taskId]);

    expect([put.hits, send.hits, claim.hits]).toEqual([2, 2, 2]);
    expect(record).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  });
});

describe('poison', () => {
  it('hands back an oversized garbage message without failing the batch', async () => {
    const engine = await createTestEngine(aws);
    const good = await enqueue(writeLog, { message: 'next to garbage' }, {}, engine);
    await aws.sqs.send(new SendMessageCommand({ QueueUrl: engine.config.queueUrls.default, MessageBody: `{"v":1,"taskId":"${'Z'.repeat(200_000)}"}` }));
    const event = await receiveAll(aws.sqs, engine.config.queueUrls.default, 2);

    const response = await processBatch(engine, event, lambdaContext());

    const garbage = event.Records.find((r) => !r.body.includes(good.taskId))!;
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: garbage.messageId }]);
    expect((await engine.store.get(good.taskId))?.status).toBe('SUCCEEDED');
  });
});
