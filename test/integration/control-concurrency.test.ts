import { setTimeout as sleepFor } from 'node:timers/promises';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { slotsPk } from '../../lib/control/keys';
import { acquireSlot, releaseSlot } from '../../lib/control/slots';
import { cancelTask } from '../../lib/cancel';
import type { Engine } from '../../lib/engine';
import { enqueue } from '../../lib/enqueue';
import { defineTask } from '../../lib/task';
import { createTestEngine, siblingEngine, startLocalAws, type LocalAws } from '../support/aws';
import { runOneBatch, runUntilTerminalOn } from '../support/drive';
import { timeoutError } from '../support/faults';

/**
 * Concurrency limits (lib/control/slots.ts), against real dynalite and
 * local-aws-sqs, with two worker engines (two Lambda instances) taking the
 * same queue at once: each attempt records when its handler started and
 * ended, and no instant may see more handlers than the limit.
 */
let aws: LocalAws;
let engine: Engine;

beforeAll(async () => {
  aws = await startLocalAws();
  engine = await createTestEngine(aws);
});
afterAll(async () => aws.close());

type Span = { key: string; start: number; end: number };
const spans: Span[] = [];

const limited = defineTask({
  name: 'ctl_limited',
  payload: z.object({ ms: z.number(), tenant: z.string().optional() }),
  concurrency: 3,
  maxAttempts: 2,
  run: async ({ ms, tenant }) => {
    const span = { key: tenant ?? '', start: Date.now(), end: Infinity };
    spans.push(span);
    await sleepFor(ms);
    span.end = Date.now();
  },
});

const perTenant = defineTask({
  name: 'ctl_per_tenant',
  payload: z.object({ ms: z.number(), tenant: z.string() }),
  concurrency: 1,
  concurrencyKey: ({ tenant }) => tenant,
  run: async ({ ms, tenant }) => {
    const span = { key: tenant, start: Date.now(), end: Infinity };
    spans.push(span);
    await sleepFor(ms);
    span.end = Date.now();
  },
});

const single = defineTask({
  name: 'ctl_single',
  payload: z.object({}),
  concurrency: 1,
  run: () => void spans.push({ key: 'single', start: Date.now(), end: Date.now() }),
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a command's input, marshalled or not
const pkOf = (input: any) => String(input.Key?.pk?.S ?? input.Key?.pk);

/** Matches the first HTTP try (not the SDK's retries of it) of every third call that `matches`. */
function firstTryOfEveryThird(matches: (input: unknown) => boolean): (input: object) => boolean {
  const seen = new WeakSet<object>();
  let calls = 0;
  return (input) => {
    if (!matches(input) || seen.has(input)) return false;
    seen.add(input);
    return ++calls % 3 === 0;
  };
}

/** The most spans (of `key`, if given) open at one instant. */
function peak(of: Span[]): number {
  const edges = of.flatMap((s) => [[s.start, 1], [s.end, -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, step] of edges) most = Math.max(most, (open += step));
  return most;
}

/** The slots of a limit as the table holds them: those held now. */
async function heldSlots(pk: string): Promise<number> {
  const out = await engine.store.client.send(new QueryCommand({ TableName: engine.store.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk }, ConsistentRead: true }));
  return (out.Items ?? []).filter((s) => s.holder !== undefined && Number(s.leaseEnd) > Date.now()).length;
}

describe('concurrency: defineTask({ concurrency })', () => {
  it('runs 50 tasks with concurrency 3 on two worker instances, never more than 3 at once, none charged an attempt for waiting', { timeout: 120_000 }, async () => {
    spans.length = 0;
    const other = siblingEngine(aws, engine);
    // Below the SDK's retries, the other instance loses the first answer of every third take or release of a slot: the SDK
    // sends the write again, its condition fails on the first try's result, and it must still count as this write's own.
    const lost = other.dynamo.add({ command: 'UpdateItem', step: 'deserialize', effect: 'lose-answer', error: timeoutError, when: firstTryOfEveryThird((input) => pkOf(input).startsWith('LIMIT#')) });
    const ids = await Promise.all(Array.from({ length: 50 }, () => enqueue(limited, { ms: 150 }, {}, engine).then((t) => t.taskId)));

    const records = await runUntilTerminalOn([engine, other.engine], aws, ids, 110_000);

    expect(records.map((r) => [r.status, r.attempts])).toEqual(ids.map(() => ['SUCCEEDED', 1]));
    expect(spans).toHaveLength(50);
    expect(peak(spans)).toBeLessThanOrEqual(3);
    // The limit is used, not just respected: tasks did run side by side.
    expect(peak(spans)).toBeGreaterThanOrEqual(2);
    expect(lost.hits).toBeGreaterThan(3);
    // Every slot was given back: nothing is held once all have run.
    expect(await heldSlots(slotsPk('ctl_limited', undefined))).toBe(0);
  });

  it('limits per key: tasks of one tenant one at a time, of two tenants side by side', { timeout: 60_000 }, async () => {
    spans.length = 0;
    const ids = await Promise.all(
      Array.from({ length: 8 }, (_, i) => enqueue(perTenant, { ms: 300, tenant: i % 2 ? 'acme' : 'globex' }, {}, engine).then((t) => t.taskId)),
    );

    const records = await runUntilTerminalOn([engine, siblingEngine(aws, engine).engine], aws, ids, 55_000);

    expect(records.every((r) => r.status === 'SUCCEEDED' && r.attempts === 1)).toBe(true);
    expect([peak(spans.filter((s) => s.key === 'acme')), peak(spans.filter((s) => s.key === 'globex'))]).toEqual([1, 1]);
    expect(peak(spans)).toBe(2);
  });

  it('stops a task cancelled while it waits for a slot from circling: its next wait acknowledges its message, and sends none', { timeout: 30_000 }, async () => {
    const worker = siblingEngine(aws, engine);
    const holder = await acquireSlot(engine.store, slotsPk('ctl_single', undefined), 1, 'long-task', () => new Date(), 60_000);
    expect(holder).toBeDefined();
    const { taskId } = await enqueue(single, {}, {}, engine);
    const sends = () => worker.sqs.calls.filter((c) => c.command === 'SendMessage' && String(c.input.MessageBody).includes(taskId));

    // Its first wait: sent again, a second or so later, with waits 1.
    await runOneBatch(worker.engine, aws, engine.config.queueUrls.default, 1);
    expect(sends().map((c) => JSON.parse(String(c.input.MessageBody)).waits)).toEqual([1]);
    await cancelTask(engine, taskId);
    // Back after its wait: the limit is still full, and the task is CANCELLED.
    let received = 0;
    for (let tries = 0; received === 0 && tries < 20; tries++) received = (await runOneBatch(worker.engine, aws, engine.config.queueUrls.default, 1)).received;

    expect(received).toBe(1);
    expect(sends()).toHaveLength(1);
    expect(await engine.store.get(taskId)).toMatchObject({ status: 'CANCELLED', attempts: 0 });
    await releaseSlot(engine.store, holder!);
  });

  it('gives a crashed holder\'s slot back when its lease ends, not before', { timeout: 60_000 }, async () => {
    spans.length = 0;
    // A worker took the only slot and died: its lease runs 3 s.
    const crashedAt = Date.now();
    const lease = await acquireSlot(engine.store, slotsPk('ctl_single', undefined), 1, 'crashed-worker', () => new Date(crashedAt), 3_000);
    expect(lease).toBeDefined();
    const { taskId } = await enqueue(single, {}, {}, engine);

    const [record] = await runUntilTerminalOn([engine], aws, [taskId], 55_000);

    expect(record).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
    expect(spans[0]!.start).toBeGreaterThanOrEqual(crashedAt + 3_000);
  });
});
