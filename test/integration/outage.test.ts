import type { SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { processDeadLetters } from '../../lib/deadLetters';
import { enqueue } from '../../lib/enqueue';
import { defineTask } from '../../lib/task';
import { createTestEngine, serverlessSetting, siblingEngine, startLocalAws, type LocalAws } from '../support/aws';
import { runWorker } from '../support/drive';
import { lambdaContext, receiveTaskMessage } from '../support/events';
import { outage } from '../support/faults';
import { expectErrorLogs } from '../support/logs';

// Everything that reads DynamoDB fails while it is down: each failure is logged as an ERROR.
expectErrorLogs('Batch could not be read; SQS will deliver it again', 'Could not record a dead-lettered task; will retry');

/**
 * "Outages lose nothing": DynamoDB down for hours while tasks wait in the
 * queue. Real dynalite and local-aws-sqs, every DynamoDB call of the worker
 * and the DLQ consumer refused while a simulated clock is inside the outage;
 * the clock moves on by the visibility the worker asks for at each receive,
 * as SQS would redeliver, and the redrive to the DLQ happens after the
 * queue's maxReceiveCount, as serverless.yml sets it.
 */
let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => aws.close());

const MAX_RECEIVES = serverlessSetting('maxReceiveCount');
const DLQ_VISIBILITY_SECONDS = serverlessSetting('dlqVisibilityTimeoutSeconds');
const HOUR = 3_600_000;

const runs = new Map<string, number>();
const counted = defineTask({
  name: 'outage_counted',
  payload: z.object({ key: z.string() }),
  maxAttempts: 1,
  run: ({ key }) => {
    runs.set(key, (runs.get(key) ?? 0) + 1);
    return { key };
  },
});

const received = (record: SQSRecord, count: number): SQSRecord => ({ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: String(count) } });

/**
 * A task enqueued, then DynamoDB down for `hours` (simulated); the queue
 * delivers its message until the worker acknowledges it, through the DLQ when
 * its receives run out. Returns how the task ended and what it went through.
 */
async function throughOutage(key: string, hours: number): Promise<{ status: string | undefined; receives: number; deadLettered: number; hoursToRun: number }> {
  const base = await createTestEngine(aws);
  const { taskId } = await enqueue(counted, { key }, {}, base);
  let clock = Date.now();
  const start = clock;
  const worker = siblingEngine(aws, base);
  const dlq = siblingEngine(aws, base);
  for (const instance of [worker, dlq]) {
    instance.engine.now = () => new Date(clock);
    outage(instance.dynamo, () => clock, start, start + hours * HOUR);
  }

  let record = await receiveTaskMessage(aws.sqs, base.config.queueUrls.default, taskId);
  let receives = 0;
  let deadLettered = 0;
  for (let deliveries = 0; deliveries < 1_000; deliveries++) {
    if (receives === MAX_RECEIVES) {
      // Redrive: the DLQ consumer gets the letter until it can decide, every DLQ visibility timeout.
      deadLettered++;
      const letter = received(record, 1);
      while ((await processDeadLetters(dlq.engine, { Records: [letter] })).batchItemFailures.length > 0) clock += DLQ_VISIBILITY_SECONDS * 1000;
      record = await receiveTaskMessage(aws.sqs, base.config.queueUrls.default, taskId);
      receives = 0;
      continue;
    }
    receives++;
    const { failures, visibility } = await runWorker(worker.engine, worker.sqs, [received(record, receives)], lambdaContext());
    if (failures.length === 0) break;
    clock += (visibility.get(record.messageId) ?? 0) * 1000;
  }
  const state = await base.store.getState(taskId);
  return { status: state?.status, receives, deadLettered, hoursToRun: (clock - start) / HOUR };
}

describe('a DynamoDB outage', () => {
  it('of 45 minutes: the queued task runs once after it, with its receives to spare', async () => {
    const outcome = await throughOutage('45-minutes', 0.75);
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', deadLettered: 0 });
    expect(outcome.receives).toBeLessThan(MAX_RECEIVES / 2);
    expect(runs.get('45-minutes')).toBe(1);
  });

  it('of 12 hours: the queued task runs once after it, without reaching the DLQ, within 20 minutes of its end', async () => {
    const outcome = await throughOutage('12-hours', 12);
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', deadLettered: 0 });
    expect(outcome.hoursToRun).toBeLessThan(12 + 1 / 3);
    expect(runs.get('12-hours')).toBe(1);
  });

  it('of three days: the task waits in the DLQ, is sent back when DynamoDB returns, and runs once (never FAILED unrun)', async () => {
    const outcome = await throughOutage('3-days', 72);
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', deadLettered: 1 });
    expect(outcome.hoursToRun).toBeLessThan(72 + 1);
    expect(runs.get('3-days')).toBe(1);
  });
});
