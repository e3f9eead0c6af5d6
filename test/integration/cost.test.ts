import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDocumentClient } from '../../lib/clients';
import type { Engine } from '../../lib/engine';
import { enqueue } from '../../lib/enqueue';
import { writeProgress } from '../../lib/control/progress';
import { taskStats } from '../../lib/stats';
import { finishAttempt } from '../../lib/store/claims';
import { ATTENTION_INDEX, attentionKey } from '../../lib/store/items';
import { TaskStore } from '../../lib/store/taskStore';
import { defineTask } from '../../lib/task';
import { flaky } from '../../lib/tasks/examples';
import { createTestEngine, serverlessResources, siblingEngine, startLocalAws, testBucket, type LocalAws } from '../support/aws';
import type { FaultKit } from '../support/faults';
import { CapacityMeter, tableSchema } from '../support/capacity';
import { claimById, runUntilTerminal } from '../support/drive';

/**
 * What a task costs in DynamoDB write units, by DynamoDB's own rules
 * (test/support/capacity.ts), measured on the items the local server holds
 * before and after each write: the payload is paid for once, when written,
 * and nothing after it grows with it.
 */
let aws: LocalAws;
let engine: Engine;
let meter: CapacityMeter;
/** The same, with a bucket for payloads and results over 6 KB (lib/payloads); its S3 calls counted. */
let withBucket: Engine;
let s3: FaultKit;

const blob = defineTask({
  name: 'cost_blob',
  payload: z.object({ blob: z.string() }),
  run: ({ blob }) => ({ length: blob.length }),
});

beforeAll(async () => {
  aws = await startLocalAws();
  const base = await createTestEngine(aws);
  const metered = new DynamoDBClient({ endpoint: aws.dynamoEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  meter = new CapacityMeter(tableSchema(base.config.tableName, serverlessResources().TasksTable!), aws.dynamo);
  meter.attach(metered);
  engine = { ...base, store: new TaskStore(createDocumentClient(metered), base.config.tableName) };
  const bucketed = await createTestEngine(aws, { payloadBucket: testBucket() });
  const sibling = siblingEngine(aws, bucketed);
  s3 = sibling.s3;
  withBucket = { ...engine, config: { ...engine.config, payloadBucket: bucketed.config.payloadBucket }, objects: sibling.engine.objects };
});
afterAll(async () => aws.close());

/** Write units of one task from enqueue to SUCCEEDED, by item kind. */
async function unitsOfOneTask(payloadBytes: number): Promise<{ total: number; byKind: Record<string, number> }> {
  meter.reset();
  const { taskId } = await enqueue(blob, { blob: 'x'.repeat(payloadBytes - 11) }, {}, engine);
  const [record] = await runUntilTerminal(engine, aws, [taskId]);
  expect(record).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  return meter.writeUnits();
}

describe('write units per task', () => {
  it.each([
    ['100 B', 100],
    ['64 KB', 64 * 1024],
    ['256 KB', 256 * 1024],
  ])('a %s payload costs at most 4 write units beyond the one write that stores it', async (_label, bytes) => {
    const { total, byKind } = await unitsOfOneTask(bytes);

    // Small payloads live in the task's definition item; large ones in an item of their own.
    const payloadWrite = bytes > 4096 ? byKind.PAYLOAD! : byKind.TASK!;
    expect(payloadWrite).toBeGreaterThanOrEqual(Math.ceil(bytes / 1024));
    expect(total - payloadWrite).toBeLessThanOrEqual(4);
    // The claim and the outcome rewrite the small state item only.
    expect(byKind.STATE).toBe(2);
  });

  it('adds at most 2 write units per retry', async () => {
    meter.reset();
    const once = await enqueue(flaky, { failTimes: 0, key: 'cost-0' }, {}, engine);
    await runUntilTerminal(engine, aws, [once.taskId]);
    const withoutRetry = meter.writeUnits().total;
    meter.reset();
    const twice = await enqueue(flaky, { failTimes: 1, key: 'cost-1' }, {}, engine);
    await runUntilTerminal(engine, aws, [twice.taskId]);

    expect(meter.writeUnits().total - withoutRetry).toBeLessThanOrEqual(2);
  });
});

describe('write units per task with a bucket (payloads and results over 6 KB in S3)', () => {
  const bigResult = defineTask({
    name: 'cost_big_result',
    payload: z.object({ bytes: z.int() }),
    run: ({ bytes }) => ({ text: 'r'.repeat(bytes) }),
  });

  it.each([
    ['7 KB', 7 * 1024],
    ['256 KB', 256 * 1024],
    ['5 MB', 5 * 1024 * 1024],
  ])('a %s payload costs at most 4 write units in all: one PUT and one GET in S3, nothing of it in the table', async (_label, bytes) => {
    meter.reset();
    s3.clear();
    const { taskId } = await enqueue(blob, { blob: 'x'.repeat(bytes - 11) }, {}, withBucket);
    const [record] = await runUntilTerminal(withBucket, aws, [taskId]);
    expect(record).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });

    const { total, byKind } = meter.writeUnits();
    expect(total).toBeLessThanOrEqual(4);
    expect(byKind.PAYLOAD).toBeUndefined();
    expect(byKind.TASK).toBe(1);
    expect(byKind.STATE).toBe(2);
    expect(s3.calls.map((c) => c.command)).toEqual(['PutObject', 'GetObject']);
  });

  it('a 5 MB result costs what a small one does in the table: the state item names it', async () => {
    meter.reset();
    s3.clear();
    const { taskId } = await enqueue(bigResult, { bytes: 5 * 1024 * 1024 - 20 }, {}, withBucket);
    await runUntilTerminal(withBucket, aws, [taskId]);

    expect(meter.writeUnits().byKind.STATE).toBe(2);
    expect(meter.writeUnits().total).toBeLessThanOrEqual(4);
    expect(s3.calls.map((c) => c.command)).toEqual(['PutObject']);
  });
});

describe('control (lib/control)', () => {
  it('writes a progress value as one unit of the small state item, and nothing to an index, even once the task has FAILED', async () => {
    const { taskId } = await enqueue(blob, { blob: 'x' }, {}, engine);
    const claimed = await claimById(engine, taskId, new Date(), 60_000);
    const progress = JSON.stringify({ done: 3, total: 10, message: 'step 3 of 10: resizing images' });
    meter.reset();

    await writeProgress(engine.store, claimed, progress, new Date());

    expect(meter.writeUnits()).toEqual({ total: 1, table: 1, index: 0, byKind: { STATE: 1 } });
    // A FAILED task's byAttention entry projects a list row, never the progress.
    const entry = { attempt: 1, run: 1, startedAt: new Date().toISOString(), durationMs: 1, outcome: 'failed' as const };
    await finishAttempt(engine.store, claimed, entry, { status: 'FAILED', error: { type: 'Error', message: 'x' } }, new Date(), { progressJson: progress, progressAt: new Date().toISOString() });
    const listed = await engine.store.client.send(
      new QueryCommand({ TableName: engine.store.tableName, IndexName: ATTENTION_INDEX, KeyConditionExpression: 'attention = :a', ExpressionAttributeValues: { ':a': attentionKey('FAILED', taskId) } }),
    );
    const row = listed.Items!.find((i) => i.taskId === taskId)!;
    expect([row.status, row.progressJson, row.progressAt]).toEqual(['FAILED', undefined, undefined]);
    expect((await engine.store.get(taskId))!.progress).toEqual(JSON.parse(progress));
  });
});

describe('the dashboard', () => {
  it('reads the same units for its figures whatever the table holds', async () => {
    meter.reset();
    await taskStats(engine, new Date());
    const before = meter.readUnits();
    for (let i = 0; i < 60; i++) await enqueue(blob, { blob: `task ${i}` }, {}, engine);
    meter.reset();

    await taskStats(engine, new Date());

    expect(meter.readUnits()).toBe(before);
    expect(meter.readUnits()).toBeLessThanOrEqual(2);
  });
});
