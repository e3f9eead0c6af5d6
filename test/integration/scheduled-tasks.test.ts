import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../lib/engine';
import { enqueueByName } from '../../lib/enqueue';
import { fireExpression, SchedulerTimers, timerName, type SchedulerTargets } from '../../lib/schedules/schedulerTimers';
import { fireDueTimers } from '../../lib/schedules/tableTimers';
import { payloadKey } from '../../lib/store/items';
import { fromStored } from '../../lib/tracing/storedTrace';
import { processBatch } from '../../lib/worker';
import { call as callApi, testApi } from '../support/api';
import { createTestEngine, siblingEngine, startLocalAws, type LocalAws } from '../support/aws';
import { runUntilTerminal } from '../support/drive';
import { lambdaContext, receiveEvent, receiveTaskMessage } from '../support/events';
import { expectErrorLogs } from '../support/logs';
import { startSchedulerServer, type SchedulerServer } from '../support/schedulerServer';

/**
 * Tasks that wait past SQS's 15 minutes: on AWS an EventBridge Scheduler
 * one-time schedule holds each (checked at the SDK's wire, against
 * test/support/schedulerServer.ts), locally a timer item in the table. Both
 * with the real api and worker on real dynalite and local-aws-sqs.
 */
const YEAR_MS = 31_536_000_000;
const MESSAGE = { message: 'later' };

let aws: LocalAws;
let base: Engine;
let onAws: Engine;
let scheduler: SchedulerServer;
let targets: SchedulerTargets;
const arns = new Map<string, string>();

beforeAll(async () => {
  aws = await startLocalAws();
  base = await createTestEngine(aws);
  scheduler = await startSchedulerServer();
  for (const url of Object.values(base.config.queueUrls)) {
    const out = await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
    arns.set(out.Attributes!.QueueArn!, url);
  }
  const arnOf = (url: string) => [...arns].find(([, u]) => u === url)![0];
  targets = {
    group: 'background-tasks-test',
    roleArn: 'arn:aws:iam::000000000000:role/background-tasks-test-scheduler',
    queueArns: { high: arnOf(base.config.queueUrls.high), default: arnOf(base.config.queueUrls.default) },
    deadLetterArns: { high: 'arn:aws:sqs:us-east-1:000000000000:high-dlq', default: 'arn:aws:sqs:us-east-1:000000000000:default-dlq' },
  };
  onAws = createEngine({ config: base.config, store: base.store, queue: base.queue, timers: new SchedulerTimers(scheduler.client, targets), logger: base.logger });
});

afterAll(async () => {
  await scheduler?.close();
  await aws?.close();
});

const timerOf = (taskId: string) => scheduler.schedules.get(`${targets.group}/${timerName(taskId, 1)}`);
const queueUrlOf = (arn: string) => arns.get(arn)!;

describe('a task a year ahead, on AWS: an EventBridge Scheduler one-time schedule', () => {
  it('is SCHEDULED with its runAt, and its schedule sends its message to its queue, then deletes itself', async () => {
    const api = testApi(onAws);
    const runAt = new Date(Date.now() + YEAR_MS - 60_000).toISOString();

    const accepted = await callApi(api, 'POST', '/tasks', { body: { name: 'write_log', payload: MESSAGE, runAt } });

    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ status: 'SCHEDULED' });
    const taskId = accepted.body!.taskId as string;
    expect((await callApi(api, 'GET', `/tasks/${taskId}`)).body).toMatchObject({ status: 'SCHEDULED', runAt, delaySeconds: 0, attempts: 0 });
    const scheduled = (await callApi(api, 'GET', '/tasks', { query: { status: 'SCHEDULED', limit: '100' } })).body!.items as Array<{ taskId: string; runAt: string }>;
    expect(scheduled.find((t) => t.taskId === taskId)).toMatchObject({ runAt });
    expect(((await callApi(api, 'GET', '/tasks', { query: { status: 'PENDING', limit: '100' } })).body!.items as Array<{ taskId: string }>).map((t) => t.taskId)).not.toContain(taskId);
    // The message the schedule sends carries the task's trace context, as its definition keeps it (docs/tracing.md).
    const { traceparent } = fromStored((await base.store.getItems(taskId)).task)!;
    expect(timerOf(taskId)).toEqual({
      Name: `run-${taskId}-1`,
      GroupName: targets.group,
      ScheduleExpression: fireExpression(Date.parse(runAt)),
      ScheduleExpressionTimezone: 'UTC',
      ActionAfterCompletion: 'DELETE',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Description: `Sends task ${taskId} (run 1) to its queue for ${runAt}`,
      ClientToken: expect.any(String),
      Target: {
        Arn: targets.queueArns.default,
        RoleArn: targets.roleArn,
        Input: JSON.stringify({ v: 2, taskId, name: 'write_log', run: 1, traceparent }),
        RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
        DeadLetterConfig: { Arn: targets.deadLetterArns.default },
      },
    });
    // Nothing waits in SQS meanwhile.
    expect((await receiveEvent(aws.sqs, base.config.queueUrls.default, 10, 0)).Records).toEqual([]);

    await scheduler.fire(`run-${taskId}-1`, targets.group, aws.sqs, queueUrlOf);
    expect(timerOf(taskId)).toBeUndefined();
    expect(JSON.parse((await receiveTaskMessage(aws.sqs, base.config.queueUrls.default, taskId)).body)).toEqual({ v: 2, taskId, name: 'write_log', run: 1, traceparent });
  });

  it('fires a minute or two early, on the minute; the worker holds the message back for the seconds left, and runs it from runAt', () => {
    expect(fireExpression(Date.parse('2027-03-04T10:05:30.250Z'))).toBe('at(2027-03-04T10:04:00)');
    expect(fireExpression(Date.parse('2027-03-04T10:05:00.000Z'))).toBe('at(2027-03-04T10:04:00)');
    expect(fireExpression(Date.parse('2027-03-04T10:04:59.999Z'))).toBe('at(2027-03-04T10:03:00)');
  });

  it('hands back a message that a schedule delivered early, for the time left, and runs the one that comes at runAt', async () => {
    const runAtMs = Date.now() + 20 * 60_000;
    const { taskId } = await enqueueByName(onAws, 'write_log', MESSAGE, { runAt: new Date(runAtMs).toISOString(), priority: 'high' });
    await scheduler.fire(`run-${taskId}-1`, targets.group, aws.sqs, queueUrlOf);
    const early = await receiveTaskMessage(aws.sqs, base.config.queueUrls.high, taskId);
    const handedBack: number[] = [];
    const worker = (nowMs: number) =>
      createEngine({
        ...base,
        now: () => new Date(nowMs),
        queue: Object.assign(Object.create(base.queue) as typeof base.queue, { changeVisibility: async (_u: string, _h: string, s: number) => void handedBack.push(s) }),
      });

    const first = await processBatch(worker(runAtMs - 90_000), { Records: [early] }, lambdaContext());
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: early.messageId }]);
    expect(handedBack).toEqual([90]);
    expect(await base.store.get(taskId)).toMatchObject({ status: 'SCHEDULED', attempts: 0 });

    const onTime = await processBatch(worker(runAtMs), { Records: [{ ...early, messageId: 'again' }] }, lambdaContext());
    expect(onTime.batchItemFailures).toEqual([]);
    expect(await base.store.get(taskId)).toMatchObject({ status: 'SUCCEEDED', attempts: 1, result: MESSAGE });
  });

  it('removes the schedule when the task is cancelled: nothing is left to fire', async () => {
    const api = testApi(onAws);
    const { taskId } = await enqueueByName(onAws, 'write_log', MESSAGE, { delaySeconds: 31_536_000 });
    expect(timerOf(taskId)).toBeDefined();
    const calls = scheduler.calls.length;

    const cancelled = await callApi(api, 'DELETE', `/tasks/${taskId}`);

    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'CANCELLED', delaySeconds: 31_536_000 });
    expect(timerOf(taskId)).toBeUndefined();
    expect(scheduler.calls.slice(calls)).toEqual([`DELETE /schedules/run-${taskId}-1`]);
  });

  it('cancels a task whose schedule already fired (and deleted itself) without an error', async () => {
    const { taskId } = await enqueueByName(onAws, 'write_log', MESSAGE, { delaySeconds: 3_600 });
    scheduler.schedules.delete(`${targets.group}/run-${taskId}-1`);

    const cancelled = await callApi(testApi(onAws), 'DELETE', `/tasks/${taskId}`);

    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'CANCELLED' });
  });

  it('makes one schedule when CreateSchedule lands but its answer is lost (the SDK tries again with the same token), and setting it again is the same one', async () => {
    scheduler.failNext(1, { status: 500, landed: true });
    const calls = scheduler.calls.length;

    const { taskId, record } = await enqueueByName(onAws, 'write_log', MESSAGE, { delaySeconds: 7_200 });
    await onAws.timers.set({ message: { v: 2, taskId, name: 'write_log', run: 1 }, priority: 'default' }, Date.parse(record.runAt!));

    expect(record.status).toBe('SCHEDULED');
    expect(scheduler.calls.slice(calls)).toEqual(Array(3).fill(`POST /schedules/run-${taskId}-1`));
    expect([...scheduler.schedules.keys()].filter((k) => k.includes(taskId))).toHaveLength(1);
  });

  it('sets a later run’s schedule (an Idempotency-Key’s new run of a stopped first one) for after runAt: the worker holds back only first runs', async () => {
    const runAtMs = Date.parse('2027-05-05T10:05:30.000Z');
    await onAws.timers.set({ message: { v: 2, taskId: '01ARZ3NDEKTSV4RRFFQ69G5FAV', name: 'write_log', run: 2 }, priority: 'high' }, runAtMs);

    expect(scheduler.schedules.get(`${targets.group}/run-01ARZ3NDEKTSV4RRFFQ69G5FAV-2`)).toMatchObject({
      ScheduleExpression: 'at(2027-05-05T10:06:00)',
      Target: { Arn: targets.queueArns.high, Input: JSON.stringify({ v: 2, taskId: '01ARZ3NDEKTSV4RRFFQ69G5FAV', name: 'write_log', run: 2 }) },
    });
  });

  it('answers 503 when EventBridge Scheduler refuses the schedule, and the task is stopped: nothing will run', async () => {
    expectErrorLogs('Request failed');
    scheduler.failNext(3, { status: 500, landed: false });

    const res = await callApi(testApi(onAws), 'POST', '/tasks', { body: { name: 'write_log', payload: MESSAGE, delaySeconds: 86_400 } });

    expect(res.status).toBe(503);
    expect(res.body!.error).toMatchObject({ code: 'service_unavailable', message: 'EventBridge Scheduler CreateSchedule failed' });
    const stopped = (await callApi(testApi(onAws), 'GET', '/tasks', { query: { status: 'CANCELLED', limit: '5' } })).body!.items[0];
    expect(stopped).toMatchObject({ name: 'write_log', status: 'CANCELLED', error: { type: 'EnqueueFailed' } });
  });

  it('sends a batch with far and near tasks: a schedule for each far one, SQS for the rest', async () => {
    const res = await callApi(testApi(onAws), 'POST', '/tasks/batch', {
      body: { tasks: [{ name: 'write_log', payload: MESSAGE, delaySeconds: 86_400 }, { name: 'write_log', payload: MESSAGE }] },
    });

    expect(res.body).toMatchObject({ accepted: 2, items: [{ status: 'SCHEDULED' }, { status: 'PENDING' }] });
    const [far, near] = res.body!.items as Array<{ taskId: string }>;
    expect(timerOf(far!.taskId)).toBeDefined();
    expect(timerOf(near!.taskId)).toBeUndefined();
    await receiveTaskMessage(aws.sqs, base.config.queueUrls.default, near!.taskId);
  });
});

describe('a task a year ahead, locally: a timer in the table', () => {
  const timerItems = async () =>
    (await base.store.client.send(new QueryCommand({ TableName: base.store.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'TIMER' } }))).Items ?? [];

  it('keeps the timer until it is due, then sends the message once, and the task runs then', async () => {
    const runAtMs = Date.now() + 30 * 60_000;
    const { taskId, record } = await enqueueByName(base, 'write_log', MESSAGE, { runAt: new Date(runAtMs) });

    expect(record).toMatchObject({ status: 'SCHEDULED', runAt: new Date(runAtMs).toISOString() });
    expect(await fireDueTimers(base.store, base.queue, runAtMs - 1)).toBe(0);
    expect((await receiveEvent(aws.sqs, base.config.queueUrls.default, 10, 0)).Records).toEqual([]);
    expect(await fireDueTimers(base.store, base.queue, runAtMs)).toBe(1);
    expect(await fireDueTimers(base.store, base.queue, runAtMs + 60_000)).toBe(0);
    const message = await receiveTaskMessage(aws.sqs, base.config.queueUrls.default, taskId);
    await processBatch(createEngine({ ...base, now: () => new Date(runAtMs) }), { Records: [message] }, lambdaContext());
    expect(await base.store.get(taskId)).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  });

  it('fires a timer that came due while nothing ran at the next start, and two pollers racing (a restart) run the task once', async () => {
    const runAtMs = Date.now() + 20 * 60_000;
    const { taskId } = await enqueueByName(base, 'write_log', MESSAGE, { runAt: new Date(runAtMs).toISOString() });
    const restarted = siblingEngine(aws, base).engine;

    const sent = await Promise.all([fireDueTimers(base.store, base.queue, runAtMs + 3_600_000), fireDueTimers(restarted.store, restarted.queue, runAtMs + 3_600_000)]);

    expect(sent[0]! + sent[1]!).toBeGreaterThanOrEqual(1);
    const [done] = await runUntilTerminal(createEngine({ ...base, now: () => new Date(runAtMs + 3_600_000) }), aws, [taskId]);
    expect(done).toMatchObject({ status: 'SUCCEEDED', attempts: 1, run: 1 });
    expect(done!.attemptLog).toHaveLength(1);
    expect((await timerItems()).filter((t) => String(t.body).includes(taskId))).toEqual([]);
  });

  it('removes the timer when the task is cancelled', async () => {
    const { taskId } = await enqueueByName(base, 'write_log', MESSAGE, { delaySeconds: 7_200 });
    expect((await timerItems()).filter((t) => String(t.body).includes(taskId))).toHaveLength(1);

    expect((await callApi(testApi(base), 'DELETE', `/tasks/${taskId}`)).body).toMatchObject({ status: 'CANCELLED' });

    expect((await timerItems()).filter((t) => String(t.body).includes(taskId))).toEqual([]);
  });
});

describe('a task scheduled beyond the retention', () => {
  it('keeps its record, its payload and its Idempotency-Key for the retention after it first runs, not after its enqueue', async () => {
    const retentionS = base.config.retentionDays * 86_400;
    const runAtMs = Date.now() + 200 * 86_400_000;
    const key = `beyond-retention-${Date.now()}`;
    const { taskId } = await enqueueByName(base, 'write_log', { message: 'x'.repeat(5_000) }, { runAt: new Date(runAtMs), idempotencyKey: key });

    const expected = Math.floor(runAtMs / 1000) + retentionS;
    const { task } = await base.store.getItems(taskId);
    const marker = await base.store.client.send(new GetCommand({ TableName: base.store.tableName, Key: { pk: `IDEM#${key}`, sk: 'marker' } }));
    const payload = await base.store.client.send(new GetCommand({ TableName: base.store.tableName, Key: payloadKey(taskId) }));
    expect(task!.expiresAt).toBe(expected);
    expect(marker.Item!.expiresAt).toBe(expected);
    expect(payload.Item!.expiresAt).toBe(expected);
    expect((await base.store.get(taskId))!.expiresAt).toBe(expected);
  });
});

describe('a task a few seconds ahead: SQS holds its message', () => {
  it('is SCHEDULED until its time, runs after it and not before', async () => {
    const runAtMs = Date.now() + 2_000;
    const { taskId, record } = await enqueueByName(base, 'write_log', MESSAGE, { runAt: new Date(runAtMs) });
    expect(record.status).toBe('SCHEDULED');
    expect((await receiveEvent(aws.sqs, base.config.queueUrls.default, 10, 0)).Records).toEqual([]);

    const [done] = await runUntilTerminal(base, aws, [taskId], 10_000);

    expect(done).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
    expect(Date.parse(done!.startedAt!)).toBeGreaterThanOrEqual(runAtMs);
    expect(Date.parse(done!.startedAt!)).toBeLessThan(runAtMs + 3_000);
  });
});
