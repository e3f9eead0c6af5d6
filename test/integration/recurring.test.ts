import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../lib/engine';
import { LocalScheduler, localSchedules } from '../../lib/schedules/localScheduler';
import { scheduleState } from '../../lib/schedules/scheduleStore';
import { scheduleResources } from '../../lib/schedules/template';
import { listTasks } from '../../lib/store/listing';
import { tickInput, tickKey } from '../../lib/schedules/tick';
import { defineTask, registeredTasks } from '../../lib/task';
import '../../lib/tasks';
import type { TaskSummary } from '../../lib/types';
import { processBatch } from '../../lib/worker';
import * as z from '../../lib/zod';
import { call as callApi, testApi } from '../support/api';
import { createTestEngine, siblingEngine, startLocalAws, type LocalAws } from '../support/aws';
import { runUntilTerminal } from '../support/drive';
import { lambdaContext, receiveAll, receiveEvent } from '../support/events';
import { serviceUnavailable } from '../support/faults';
import { expectErrorLogs } from '../support/logs';

/**
 * Recurring schedules: their ticks, which the worker turns into one task
 * each, the pause flag, GET /schedules, and the local runtime's scheduler,
 * on real dynalite and local-aws-sqs.
 */
let aws: LocalAws;
let base: Engine;

// A rate schedule of this file's own, beside the examples' daily_report (cron, Europe/Paris).
const ticking = defineTask({
  name: 'every_minute_test',
  payload: z.object({ label: z.string() }),
  schedule: { every: '1 minute', payload: { label: 'from the schedule' } },
  run: ({ label }) => ({ label }),
});

beforeAll(async () => {
  aws = await startLocalAws();
  base = await createTestEngine(aws);
});

afterAll(async () => {
  await aws?.close();
});

/** A tick as its schedule delivers it, received from a queue (the high one: the ticked tasks go to the default one). */
async function tickRecord(name: string, scheduledTime: string): Promise<SQSRecord> {
  const body = tickInput(name).replace('<aws.scheduler.scheduled-time>', scheduledTime);
  await aws.sqs.send(new SendMessageCommand({ QueueUrl: base.config.queueUrls.high, MessageBody: body }));
  return (await receiveAll(aws.sqs, base.config.queueUrls.high, 1)).Records[0]!;
}

async function tasksNamed(name: string): Promise<TaskSummary[]> {
  return (await listTasks(base.store, { name, limit: 100 })).items;
}

describe('a tick', () => {
  it('enqueues one task when it is delivered twice, one after the other or by two workers at once', async () => {
    const first = await tickRecord('daily_report', '2026-03-30T07:00:00Z');
    const again = { ...first, messageId: 'again' };

    expect((await processBatch(base, { Records: [first] }, lambdaContext())).batchItemFailures).toEqual([]);
    expect((await processBatch(base, { Records: [again] }, lambdaContext())).batchItemFailures).toEqual([]);
    const other = await tickRecord('daily_report', '2026-03-31T07:00:00Z');
    const sibling = siblingEngine(aws, base).engine;
    await Promise.all([processBatch(base, { Records: [other] }, lambdaContext()), processBatch(sibling, { Records: [{ ...other, messageId: 'twin' }] }, lambdaContext())]);

    const tasks = await tasksNamed('daily_report');
    expect(tasks.map((t) => t.idempotencyKey).sort()).toEqual(['schedule:daily_report:2026-03-30T07:00:00.000Z', 'schedule:daily_report:2026-03-31T07:00:00.000Z']);
    const done = await runUntilTerminal(base, aws, tasks.map((t) => t.taskId));
    expect(done.map((t) => [t.status, t.attempts])).toEqual([['SUCCEEDED', 1], ['SUCCEEDED', 1]]);
    expect(await scheduleState(base.store, 'daily_report')).toMatchObject({ lastRunAt: '2026-03-31T07:00:00.000Z', lastTaskId: tasks.find((t) => t.idempotencyKey?.endsWith('31T07:00:00.000Z'))!.taskId });
  });

  it('keeps the latest run when ticks come out of order', async () => {
    await processBatch(base, { Records: [await tickRecord('daily_report', '2026-03-25T08:00:00Z')] }, lambdaContext());
    expect(await scheduleState(base.store, 'daily_report')).toMatchObject({ lastRunAt: '2026-03-31T07:00:00.000Z' });
  });

  it('enqueues the schedule’s payload, with the key made of its name and scheduled time', () => {
    expect(tickKey({ tick: 'every_minute_test', scheduledTime: '2026-01-01T10:00:00+01:00' })).toBe('schedule:every_minute_test:2026-01-01T09:00:00.000Z');
    expect(ticking.schedule).toMatchObject({ expression: 'rate(1 minute)', payload: { label: 'from the schedule' }, timezone: 'UTC' });
  });

  it('enqueues nothing while its schedule is paused, and again once it is resumed', async () => {
    const api = testApi(base);
    expect((await callApi(api, 'POST', '/schedules/every_minute_test/pause')).body).toMatchObject({ paused: true, nextRunAt: null });

    await processBatch(base, { Records: [await tickRecord('every_minute_test', '2026-04-01T10:00:00Z')] }, lambdaContext());
    expect(await tasksNamed('every_minute_test')).toEqual([]);

    expect((await callApi(api, 'POST', '/schedules/every_minute_test/resume')).body).toMatchObject({ paused: false });
    await processBatch(base, { Records: [await tickRecord('every_minute_test', '2026-04-01T10:01:00Z')] }, lambdaContext());
    const [task] = await tasksNamed('every_minute_test');
    expect(task).toMatchObject({ idempotencyKey: 'schedule:every_minute_test:2026-04-01T10:01:00.000Z' });
    const [done] = await runUntilTerminal(base, aws, [task!.taskId]);
    expect(done).toMatchObject({ status: 'SUCCEEDED', payload: { label: 'from the schedule' }, result: { label: 'from the schedule' } });
  });

  it('is dropped, with a warning, when no task of this code has that schedule (removed by a deploy)', async () => {
    const record = await tickRecord('no_such_schedule', '2026-04-01T10:00:00Z');
    expect((await processBatch(base, { Records: [record] }, lambdaContext())).batchItemFailures).toEqual([]);
  });

  it('comes back when DynamoDB cannot be reached, and then enqueues its one task', async () => {
    expectErrorLogs('Tick could not enqueue its task');
    const record = await tickRecord('daily_report', '2026-04-02T07:00:00Z');
    const { engine: down, dynamo } = siblingEngine(aws, base);
    dynamo.add({ command: '*', effect: 'fail', error: serviceUnavailable });

    expect((await processBatch(down, { Records: [record] }, lambdaContext())).batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect((await processBatch(base, { Records: [record] }, lambdaContext())).batchItemFailures).toEqual([]);
    expect((await tasksNamed('daily_report')).filter((t) => t.idempotencyKey?.includes('2026-04-02'))).toHaveLength(1);
  });
});

describe('GET /schedules', () => {
  it('lists every task’s schedule with its next run in its time zone (DST included), its pause flag and its last run', async () => {
    // Friday 27 March 2026, 10:00 in Paris: the next weekday 9:00 is Monday, after the clocks went forward.
    const friday = createEngine({ ...base, now: () => new Date('2026-03-27T09:00:00Z') });
    const res = await callApi(testApi(friday), 'GET', '/schedules');

    expect(res.status).toBe(200);
    expect(res.body!.items[0]).toEqual({
      name: 'daily_report',
      cron: '0 9 * * MON-FRI',
      timezone: 'Europe/Paris',
      expression: 'cron(0 9 ? * MON-FRI *)',
      nextRunAt: '2026-03-30T07:00:00.000Z',
      paused: false,
      lastRunAt: '2026-04-02T07:00:00.000Z',
      lastTaskId: expect.any(String),
    });
    // A rate runs on from its last tick (10:01): at 10:03:30, its next is 10:04.
    const later = createEngine({ ...base, now: () => new Date('2026-04-01T10:03:30Z') });
    expect((await callApi(testApi(later), 'GET', '/schedules')).body!.items[1]).toEqual({
      name: 'every_minute_test',
      every: '1 minute',
      timezone: 'UTC',
      expression: 'rate(1 minute)',
      nextRunAt: '2026-04-01T10:04:00.000Z',
      paused: false,
      lastRunAt: '2026-04-01T10:01:00.000Z',
      lastTaskId: expect.any(String),
    });
  });

  it('answers 404 for a schedule no task has, and 401 without a key', async () => {
    const api = testApi(base);
    const missing = await callApi(api, 'POST', '/schedules/write_log/pause');
    expect(missing.status).toBe(404);
    expect(missing.body!.error).toEqual({ code: 'schedule_not_found', message: 'No schedule named "write_log"' });
    expect((await callApi(api, 'GET', '/schedules', { apiKey: null })).status).toBe(401);
    expect((await callApi(api, 'DELETE', '/schedules/daily_report/pause')).status).toBe(405);
  });
});

describe('the local scheduler (npm start)', () => {
  const queueArn = async (url: string) => (await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;

  it('reads the template’s schedules, ticks a rate from its last run and a cron at its next time, and sends each tick to its queue', async () => {
    const arn = await queueArn(base.config.queueUrls.default);
    const resources = scheduleResources(registeredTasks());
    const resolve = (value: unknown) => (JSON.stringify(value) === JSON.stringify({ 'Fn::GetAtt': ['DefaultQueue', 'Arn'] }) ? arn : 'elsewhere');
    const schedules = localSchedules(resources, resolve, (a) => (a === arn ? base.config.queueUrls.default : undefined));
    expect(schedules.map((s) => [s.name, s.expression, s.timezone])).toEqual([
      ['daily_report', 'cron(0 9 ? * MON-FRI *)', 'Europe/Paris'],
      ['every_minute_test', 'rate(1 minute)', 'UTC'],
    ]);
    const sent: string[] = [];
    const send = async (QueueUrl: string, MessageBody: string) => {
      sent.push(MessageBody);
      await aws.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody }));
    };
    // The rate's last run was 10:01 on 1 April: a tenth of a second before 10:02, its next tick is nearly due.
    const now = Date.parse('2026-04-01T10:01:59.900Z');
    const scheduler = new LocalScheduler(base, schedules, send, { notice: () => undefined, warning: (m) => sent.push(`warning ${m}`) }, () => now);

    await scheduler.start();
    await new Promise((r) => setTimeout(r, 200));
    await scheduler.stop();

    // Wednesday 1 April, 12:02 in Paris: Thursday's 9:00 comes next.
    expect(scheduler.nextRuns.get('daily_report')).toBe(Date.parse('2026-04-02T07:00:00Z'));
    expect(sent).toEqual(['{"tick":"every_minute_test","scheduledTime":"2026-04-01T10:02:00Z"}']);
    const ticks = await receiveEvent(aws.sqs, base.config.queueUrls.default, 10, 1);
    await processBatch(base, ticks, lambdaContext());
    expect((await tasksNamed('every_minute_test')).map((t) => t.idempotencyKey)).toContain('schedule:every_minute_test:2026-04-01T10:02:00.000Z');
  });

  it('fires the table’s due timers when it starts: a task whose time passed while the stack was down runs once', async () => {
    const { taskId } = await (await import('../../lib/enqueue')).enqueueByName(base, 'write_log', { message: 'due while down' }, { delaySeconds: 1_800 });
    const later = Date.now() + 3_600_000;
    const scheduler = new LocalScheduler(base, [], async () => undefined, { notice: () => undefined, warning: () => undefined }, () => later);

    await scheduler.start();
    await scheduler.stop();

    const [done] = await runUntilTerminal(createEngine({ ...base, now: () => new Date(later) }), aws, [taskId]);
    expect(done).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
    const timers = await base.store.client.send(new QueryCommand({ TableName: base.store.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'TIMER' } }));
    expect(timers.Items).toEqual([]);
  });
});
