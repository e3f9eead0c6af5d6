import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../lib/clients';
import { createEngine, type Engine } from '../../lib/engine';
import { enqueueByName } from '../../lib/enqueue';
import { TaskQueue } from '../../lib/queue';
import { SchedulerTimers } from '../../lib/schedules/schedulerTimers';
import { scheduleState } from '../../lib/schedules/scheduleStore';
import { TaskStore } from '../../lib/store/taskStore';
import '../../lib/tasks';
import { processBatch } from '../../lib/worker';
import { createTestEngine, dedicatedClients, serverlessResources, startLocalAws, type LocalAws } from '../support/aws';
import { CapacityMeter, tableSchema } from '../support/capacity';
import { lambdaContext, receiveAll, receiveTaskMessage } from '../support/events';
import { installFaults, type FaultKit } from '../support/faults';
import { startSchedulerServer, type SchedulerServer } from '../support/schedulerServer';

/**
 * What waiting costs, measured on the real servers: a task that runs an hour
 * from now through an EventBridge Scheduler one-time schedule (fired early,
 * as Scheduler's minute precision makes it, then held back by the worker)
 * against the same task run at once; and what one early delivery costs,
 * which is what each hop of the alternative (re-sending the message every
 * 15 minutes, SQS's longest delay) would cost again and again. The figures
 * are those of docs/scheduling.md.
 */
let aws: LocalAws;
let engine: Engine;
let meter: CapacityMeter;
let sqs: FaultKit;
let scheduler: SchedulerServer;
const arns = new Map<string, string>();

beforeAll(async () => {
  aws = await startLocalAws();
  const base = await createTestEngine(aws);
  const metered = new DynamoDBClient({ endpoint: aws.dynamoEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  meter = new CapacityMeter(tableSchema(base.config.tableName, serverlessResources().TasksTable!), aws.dynamo);
  meter.attach(metered);
  const clients = dedicatedClients(aws);
  sqs = installFaults(clients.sqs);
  scheduler = await startSchedulerServer();
  for (const url of Object.values(base.config.queueUrls)) {
    arns.set((await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!, url);
  }
  const arnOf = (url: string) => [...arns].find(([, u]) => u === url)![0];
  engine = createEngine({
    config: base.config,
    logger: base.logger,
    store: new TaskStore(createDocumentClient(metered), base.config.tableName),
    queue: new TaskQueue(clients.sqs, base.config.queueUrls),
    timers: new SchedulerTimers(scheduler.client, {
      group: 'cost',
      roleArn: 'arn:aws:iam::000000000000:role/scheduler',
      queueArns: { high: arnOf(base.config.queueUrls.high), default: arnOf(base.config.queueUrls.default) },
      deadLetterArns: { high: 'arn:aws:sqs:us-east-1:000000000000:dlq', default: 'arn:aws:sqs:us-east-1:000000000000:dlq' },
    }),
  });
});

afterAll(async () => {
  await scheduler?.close();
  await aws?.close();
});

/** Runs a task's message through the worker at `nowMs` (the worker's SQS calls go through the watched client); returns the record. */
async function deliver(taskId: string, nowMs: number, record?: SQSRecord): Promise<SQSRecord> {
  const message = record ?? (await receiveTaskMessage(aws.sqs, engine.config.queueUrls.default, taskId));
  await processBatch(createEngine({ ...engine, now: () => new Date(nowMs) }), { Records: [message] }, lambdaContext());
  return message;
}

/** A tick as its schedule delivers it to the queue, received. */
async function receiveTaskMessageOrTick(body: string): Promise<SQSRecord> {
  await aws.sqs.send(new SendMessageCommand({ QueueUrl: engine.config.queueUrls.high, MessageBody: body }));
  return (await receiveAll(aws.sqs, engine.config.queueUrls.high, 1)).Records[0]!;
}

const measure = () => ({ writes: meter.writeUnits().total, reads: meter.readUnits(), sqs: sqs.calls.map((c) => c.command), scheduler: [...scheduler.calls] });
const reset = () => {
  meter.reset();
  sqs.clear();
  scheduler.calls.length = 0;
};

describe('the cost of waiting', () => {
  it('a task an hour ahead writes no more than one run at once; its schedule adds one early delivery (half a read unit, one ChangeMessageVisibility)', async () => {
    reset();
    const now = await enqueueByName(engine, 'write_log', { message: 'now' });
    await deliver(now.taskId, Date.now());
    const atOnce = measure();

    reset();
    const runAtMs = Date.now() + 3_600_000;
    const later = await enqueueByName(engine, 'write_log', { message: 'now' }, { runAt: new Date(runAtMs) });
    const enqueued = measure();
    await scheduler.fire(`run-${later.taskId}-1`, 'cost', aws.sqs, (arn) => arns.get(arn)!);
    const handedBack = await deliver(later.taskId, runAtMs - 60_000);
    const early = measure();
    // It comes back at runAt (here at once: the test plays the clock).
    await deliver(later.taskId, runAtMs, { ...handedBack, messageId: 'at-run-at' });
    const scheduled = measure();

    expect(await engine.store.get(later.taskId)).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
    expect(atOnce.sqs).toEqual(['SendMessage']);
    expect(scheduled.writes).toBe(atOnce.writes);
    expect(scheduled.scheduler).toEqual([`POST /schedules/run-${later.taskId}-1`]);
    // The schedule sends the message itself (its SendMessage is EventBridge's); the early delivery is handed back once.
    expect(scheduled.sqs).toEqual(['ChangeMessageVisibility']);
    // One hop of re-sending every 15 minutes costs what this early delivery cost, plus the SendMessage of the next hop.
    expect(early.writes - enqueued.writes).toBe(0);
    expect(early.reads - enqueued.reads).toBe(0.5);
    expect(scheduled.reads - atOnce.reads).toBe(0.5);
  });

  it('a recurring tick costs its task plus what makes it one task per tick: the Idempotency-Key and the schedule’s last run, 4 write units and 2 read units', async () => {
    reset();
    const plain = await enqueueByName(engine, 'daily_report', {});
    await deliver(plain.taskId, Date.now());
    const atOnce = measure();

    reset();
    const body = JSON.stringify({ tick: 'daily_report', scheduledTime: '2026-05-04T07:00:00Z' });
    const record = { ...(await receiveTaskMessageOrTick(body)) };
    await processBatch(engine, { Records: [record] }, lambdaContext());
    // Read through a client the meter does not watch.
    const { lastTaskId: taskId } = (await scheduleState(new TaskStore(createDocumentClient(aws.dynamo), engine.config.tableName), 'daily_report'))!;
    await deliver(taskId!, Date.now());
    const ticked = measure();

    expect(ticked.sqs).toEqual(['SendMessage']);
    expect(ticked.writes - atOnce.writes).toBe(4);
    // Written: the key's marker, the hold on sending (taken and released), the schedule's last run. Read: the pause flag, the task's state.
    expect(meter.writes.map((w) => w.kind)).toEqual(['IDEM', 'STATE', 'TASK', 'STATE', 'SCHEDULE', 'STATE', 'STATE', 'STATS']);
    expect(ticked.reads - atOnce.reads).toBe(2);
  });
});
