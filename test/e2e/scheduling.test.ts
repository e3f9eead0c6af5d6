import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TERMINAL_STATUSES } from '../../lib/types';
import { copyCheckout, startStack, waitForStatus, type Body, type Stack } from '../support/stack';

/**
 * Scheduling through `npm start`, as a user tries it: a task a few seconds
 * ahead, one a year ahead (its timer in the table, cancelled), the example
 * schedule and a rate schedule the test adds to its copy of the checkout (it
 * ticks as the stack starts), pause and resume, and a restart after a hard
 * kill with a task whose time passed while the stack was down. One stack,
 * started twice.
 */
const checkout = copyCheckout();
const dataDir = `${checkout.dir}/.local`;
let stack: Stack | undefined;

// A user's own recurring task, registered like the examples: every five minutes, it ticks as soon as the stack starts.
writeFileSync(
  join(checkout.dir, 'lib/tasks/e2eTick.ts'),
  `import * as z from '../zod';
import { defineTask } from '../task';
export const e2eTick = defineTask({ name: 'e2e_tick', payload: z.object({ n: z.int() }), schedule: { every: '5 minutes', payload: { n: 7 } }, run: ({ n }) => ({ n }) });
`,
);
appendFileSync(join(checkout.dir, 'lib/tasks/index.ts'), "export * from './e2eTick';\n");

afterAll(async () => {
  stack?.signal('SIGKILL');
  checkout.remove();
});

const TERMINAL = TERMINAL_STATUSES;

async function timerItems(on: Stack): Promise<string[]> {
  const dynamo = new DynamoDBClient({ endpoint: `http://127.0.0.1:${on.ports.dynamo}`, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    const out = await dynamo.send(new QueryCommand({ TableName: 'background-tasks-dev-tasks-v2', KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: 'TIMER' } } }));
    return (out.Items ?? []).map((i) => i.body!.S!);
  } finally {
    dynamo.destroy();
  }
}

describe('scheduling through npm start', { timeout: 180_000 }, () => {
  it('lists the schedules and their next runs in the banner, and ticks a rate schedule into one task', async () => {
    stack = await startStack(checkout.dir, { LOCAL_DIR: dataDir, LOCAL_FRESH: '1', POWERTOOLS_LOG_LEVEL: 'INFO' });
    expect(stack.output()).toMatch(/Schedule {3}daily_report: cron\(0 9 \? \* MON-FRI \*\) in Europe\/Paris, next \d{4}-\d\d-\d\d 09:00 Europe\/Paris \(0[78]:00 UTC\)/);
    expect(stack.output()).toMatch(/Schedule {3}e2e_tick: rate\(5 minutes\) in UTC, next \d{4}-\d\d-\d\d \d\d:\d\d UTC/);

    let ticked: Body | undefined;
    for (const until = Date.now() + 20_000; !ticked && Date.now() < until; await new Promise((r) => setTimeout(r, 250))) {
      ticked = ((await stack.request('GET', '/tasks?name=e2e_tick')).body.items as Body[] | undefined)?.[0];
    }
    expect(ticked).toBeDefined();
    expect(await waitForStatus(stack, ticked!.taskId, TERMINAL, 15_000)).toMatchObject({ status: 'SUCCEEDED', payload: { n: 7 }, result: { n: 7 } });
    const { body } = await stack.request('GET', '/schedules');
    expect(body.items).toEqual([
      expect.objectContaining({ name: 'daily_report', timezone: 'Europe/Paris', paused: false, nextRunAt: expect.stringMatching(/T0[78]:00:00\.000Z$/) }),
      expect.objectContaining({ name: 'e2e_tick', every: '5 minutes', lastTaskId: ticked!.taskId, lastRunAt: expect.any(String), nextRunAt: expect.any(String) }),
    ]);
  });

  it('pauses and resumes a schedule without a deploy', async () => {
    const paused = await stack!.request('POST', '/schedules/daily_report/pause');
    expect(paused).toMatchObject({ status: 200, body: { name: 'daily_report', paused: true, nextRunAt: null } });
    expect((await stack!.request('POST', '/schedules/daily_report/resume')).body).toMatchObject({ paused: false, nextRunAt: expect.any(String) });
    expect((await stack!.request('POST', '/schedules/no_such/pause')).status).toBe(404);
  });

  it('runs a task scheduled 2 s ahead after at least 2 s, and within a few seconds more', async () => {
    const runAt = new Date(Date.now() + 2_000).toISOString();
    const accepted = await stack!.request('POST', '/tasks', { name: 'write_log', payload: { message: 'in two seconds' }, runAt });
    expect(accepted).toMatchObject({ status: 202, body: { status: 'SCHEDULED' } });

    const done = await waitForStatus(stack!, accepted.body.taskId, TERMINAL, 15_000);

    expect(done).toMatchObject({ status: 'SUCCEEDED', attempts: 1, runAt });
    const lateMs = Date.parse(String(done.startedAt)) - Date.parse(runAt);
    expect(lateMs).toBeGreaterThanOrEqual(0);
    expect(lateMs).toBeLessThan(5_000);
  });

  it('keeps a task a year ahead SCHEDULED with its timer in the table, and cancelling it removes the timer', async () => {
    const accepted = await stack!.request('POST', '/tasks', { name: 'write_log', payload: { message: 'next year' }, delaySeconds: 31_536_000 });
    const taskId = accepted.body.taskId;
    expect(accepted.body.status).toBe('SCHEDULED');
    expect((await stack!.request('GET', '/tasks?status=SCHEDULED')).body.items).toEqual([expect.objectContaining({ taskId, delaySeconds: 31_536_000 })]);
    expect((await timerItems(stack!)).filter((b) => b.includes(taskId))).toHaveLength(1);

    const cancelled = await stack!.request('DELETE', `/tasks/${taskId}`);

    expect(cancelled).toMatchObject({ status: 200, body: { status: 'CANCELLED' } });
    expect((await timerItems(stack!)).filter((b) => b.includes(taskId))).toEqual([]);
  });

  it('runs a task whose time passed while the stack was down once, at the next start', async () => {
    const runAt = new Date(Date.now() + 3_000).toISOString();
    const { body } = await stack!.request('POST', '/tasks', { name: 'write_log', payload: { message: 'due while down' }, runAt });
    stack!.signal('SIGKILL');
    await stack!.exited;
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(runAt) - Date.now() + 500)));

    stack = await startStack(checkout.dir, { LOCAL_DIR: dataDir, POWERTOOLS_LOG_LEVEL: 'INFO' });
    const done = await waitForStatus(stack, body.taskId, TERMINAL, 20_000);

    expect(done).toMatchObject({ status: 'SUCCEEDED', attempts: 1, run: 1 });
    expect(done.attemptLog).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 2_000));
    const succeeded = stack.output().split('\n').filter((l) => l.includes('"Task succeeded"') && l.includes(body.taskId));
    expect(succeeded).toHaveLength(1);
    // The rate schedule runs on from its last tick: it does not tick again at this start.
    expect((await stack.request('GET', '/tasks?name=e2e_tick')).body.items).toHaveLength(1);
    stack.signalServer('SIGTERM');
    expect((await stack.exited).code).toBe(0);
  });
});
