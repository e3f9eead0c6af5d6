import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { admit } from '../../lib/control/admission';
import { bucketKey } from '../../lib/control/keys';
import { takeToken } from '../../lib/control/tokenBucket';
import type { TaskMessage } from '../../lib/message';
import type { Engine } from '../../lib/engine';
import { enqueue } from '../../lib/enqueue';
import { defineTask } from '../../lib/task';
import { createTestEngine, siblingEngine, startLocalAws, type LocalAws } from '../support/aws';
import { runUntilTerminalOn, storedTask } from '../support/drive';
import { timeoutError, type FaultKit } from '../support/faults';

/**
 * Rate limits (lib/control/tokenBucket.ts): a token bucket in DynamoDB, taken
 * by two worker engines at once, against real dynalite and local-aws-sqs.
 * Tokens are reserved (each take books the next one due), and no task starts
 * before its token, so the k-th start comes at least k intervals after the first.
 */
let aws: LocalAws;
let engine: Engine;

beforeAll(async () => {
  aws = await startLocalAws();
  engine = await createTestEngine(aws);
});
afterAll(async () => aws.close());

const starts: Array<{ key: string; at: number }> = [];

const tenPerSecond = defineTask({
  name: 'ctl_rate_10s',
  payload: z.object({ tenant: z.string().optional() }),
  rateLimit: { max: 10, per: '1 second' },
  run: ({ tenant }) => void starts.push({ key: tenant ?? '', at: Date.now() }),
});

const perTenant = defineTask({
  name: 'ctl_rate_tenant',
  payload: z.object({ tenant: z.string() }),
  rateLimit: { max: 2, per: 1, key: ({ tenant }) => tenant },
  run: ({ tenant }) => void starts.push({ key: tenant, at: Date.now() }),
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a command's input, marshalled or not
const pkOf = (input: any) => String(input.Key?.pk?.S ?? input.Key?.pk);

/** Matches the first HTTP try (not the SDK's retries of it) of every `every`-th call that `matches`. */
function firstTryOfEveryThird(matches: (input: unknown) => boolean, every = 3): (input: object) => boolean {
  const seen = new WeakSet<object>();
  let calls = 0;
  return (input) => {
    if (!matches(input) || seen.has(input)) return false;
    seen.add(input);
    return ++calls % every === 0;
  };
}

/**
 * The tokens a bucket handed out, from the takes `kits` saw (each sets the arrival time `:tat` on the one it read,
 * `:before`): the writes that landed are the chain from the first, each one's `:before` the last one's `:tat`.
 * A token is due one interval before the arrival time its take set.
 */
function landedTokens(kits: FaultKit[], pk: string, intervalMs: number): number[] {
  const takes = kits.flatMap((k) => k.calls).filter((c) => c.command === 'UpdateItem' && pkOf(c.input) === pk);
  const values = takes.map((c) => c.input.ExpressionAttributeValues as { ':tat': number; ':before'?: number });
  const next = new Map(values.filter((v) => v[':before'] !== undefined).map((v) => [v[':before']!, v[':tat']]));
  const tokens: number[] = [];
  for (let tat = values.find((v) => v[':before'] === undefined)?.[':tat']; tat !== undefined; tat = next.get(tat)) tokens.push(tat - intervalMs);
  return tokens;
}

/** How far each start came after the first, sorted (ms). */
const sinceFirst = (at: number[]) => {
  const sorted = [...at].sort((a, b) => a - b);
  return sorted.map((t) => t - sorted[0]!);
};

/** When the `count` tokens taken from a bucket were due, from its arrival time: the last one interval before it, and so on back. */
async function tokenTimes(name: string, key: string | undefined, count: number, intervalMs: number): Promise<number[]> {
  const item = await engine.store.client.send(new GetCommand({ TableName: engine.store.tableName, Key: bucketKey(name, key), ConsistentRead: true }));
  const tat = Number(item.Item?.tat);
  return Array.from({ length: count }, (_, k) => tat - (count - k) * intervalMs);
}

/** Whether the k-th start (sorted) came no sooner than the k-th token: no task started before its token. */
function noneBeforeItsToken(startsAt: number[], tokens: number[]): boolean[] {
  const sorted = [...startsAt].sort((a, b) => a - b);
  return sorted.map((at, k) => at >= tokens[k]!);
}

const hourly = defineTask({ name: 'ctl_rate_hourly', payload: z.object({}), rateLimit: { max: 1, per: '1 hour' }, run: () => undefined });

/** Two a second, per key; fails its first attempt, retried a tenth of a second later. */
const retriedStarts: number[] = [];
const failsOnce = defineTask({
  name: 'ctl_rate_fails_once',
  payload: z.object({ tenant: z.string() }),
  rateLimit: { max: 1, per: '2 seconds', key: ({ tenant }) => tenant },
  backoff: { baseSeconds: 0.1, maxSeconds: 0.1 },
  run: (_payload, ctx) => {
    retriedStarts.push(Date.now());
    if (ctx.attempt === 1) throw new Error('first attempt fails');
  },
});

describe('rate limit: defineTask({ rateLimit })', () => {
  it('takes a token for each attempt: a retry does not start on the token its message held for the attempt that failed', { timeout: 60_000 }, async () => {
    retriedStarts.length = 0;
    const worker = siblingEngine(aws, engine);
    const tenant = `retry-${Date.now()}`;
    // The bucket's first token goes to another task: this one's message waits for the next, 2 s on, holding it.
    await takeToken(engine.store, bucketKey('ctl_rate_fails_once', tenant), { intervalMs: 2_000, burst: 1 }, () => Date.now());
    const { taskId } = await enqueue(failsOnce, { tenant }, {}, engine);

    const [record] = await runUntilTerminalOn([worker.engine], aws, [taskId], 50_000);

    expect(record).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    const takes = worker.dynamo.calls.filter((c) => c.command === 'UpdateItem' && pkOf(c.input) === `RATE#ctl_rate_fails_once#${tenant}`);
    expect(takes).toHaveLength(2);
    // Its second attempt waited for a token of its own, an interval after the first's.
    expect(retriedStarts[1]! - retriedStarts[0]!).toBeGreaterThanOrEqual(1_500);
  });

  it('keeps a token due further ahead than SQS\'s longest delay, sending the task again to wait for it, and replaces a stale one', async () => {
    const worker = siblingEngine(aws, engine);
    const task = await storedTask(engine, 'ctl_rate_hourly');
    const message = (tokenAt: number): TaskMessage => ({ v: 2, taskId: task.taskId, name: task.name, run: 1, tokenAt });
    const request = (tokenAt: number) => ({ definition: hourly, task, payloadJson: '{}', message: message(tokenAt), leaseMs: 60_000, closed: () => false });
    const bucket = async () => (await engine.store.client.send(new GetCommand({ TableName: engine.store.tableName, Key: bucketKey('ctl_rate_hourly', undefined), ConsistentRead: true }))).Item;
    const heldAt = Date.now() + 2 * 3_600_000;

    const far = await admit(worker.engine, request(heldAt));

    expect(far).toEqual({ admitted: false, wait: { seconds: 900, requeued: true } });
    const sent = worker.sqs.calls.filter((c) => c.command === 'SendMessage').map((c) => [c.input.DelaySeconds, JSON.parse(c.input.MessageBody as string).tokenAt]);
    expect(sent).toEqual([[900, heldAt]]);
    expect(await bucket()).toBeUndefined();

    // Back more than 5 s after its token: it takes a fresh one (due now: the bucket was never used), and starts.
    const stale = await admit(worker.engine, request(Date.now() - 6_000));
    expect(stale.admitted).toBe(true);
    expect(await bucket()).toMatchObject({ tat: expect.any(Number) });
  });


  it('spreads 50 tasks at 10 a second over at least 4 s on two worker instances, tokens 100 ms apart and none started before its own', { timeout: 90_000 }, async () => {
    starts.length = 0;
    const workers = [siblingEngine(aws, engine), siblingEngine(aws, engine)];
    // Answers of the bucket's writes lost below the SDK's retries, on both instances.
    for (const w of workers) w.dynamo.add({ command: 'UpdateItem', step: 'deserialize', effect: 'lose-answer', error: timeoutError, when: firstTryOfEveryThird((input) => pkOf(input).startsWith('RATE#')) });
    const ids = await Promise.all(Array.from({ length: 50 }, () => enqueue(tenPerSecond, {}, {}, engine).then((t) => t.taskId)));

    const records = await runUntilTerminalOn(workers.map((w) => w.engine), aws, ids, 80_000);

    expect(records.map((r) => [r.status, r.attempts])).toEqual(ids.map(() => ['SUCCEEDED', 1]));
    const offsets = sinceFirst(starts.map((s) => s.at));
    expect(offsets).toHaveLength(50);
    expect(offsets.at(-1)).toBeGreaterThanOrEqual(4_000);
    // The tokens handed out, from the bucket's writes that landed: one every 100 ms at most (a task that came back
    // more than 5 s late took another, so there may be more than 50), and no task started before its own.
    const tokens = landedTokens(workers.map((w) => w.dynamo), 'RATE#ctl_rate_10s', 100);
    expect(tokens.length).toBeGreaterThanOrEqual(50);
    expect(tokens.slice(1).every((t, k) => t - tokens[k]! >= 100)).toBe(true);
    expect(noneBeforeItsToken(starts.map((s) => s.at), tokens)).toEqual(starts.map(() => true));
  });

  it('takes exactly one token per take when every take\'s answer is lost below the SDK\'s retries', async () => {
    const { engine: worker, dynamo } = siblingEngine(aws, engine);
    dynamo.add({ command: 'UpdateItem', step: 'deserialize', effect: 'lose-answer', error: timeoutError, when: firstTryOfEveryThird(() => true, 1) });
    const bucket = { intervalMs: 100, burst: 1 };
    const key = bucketKey('ctl_rate_lost', undefined);

    const taken: number[] = [];
    for (let i = 0; i < 10; i++) taken.push(await takeToken(worker.store, key, bucket, () => Date.now()));

    expect(taken.slice(1).map((t, k) => t - taken[k]!)).toEqual(Array(9).fill(100));
    const item = await engine.store.client.send(new GetCommand({ TableName: engine.store.tableName, Key: key, ConsistentRead: true }));
    expect(item.Item!.tat).toBe(taken[9]! + 100);
  });

  it('keeps a bucket per key: two tenants at 2 a second each start side by side', { timeout: 60_000 }, async () => {
    starts.length = 0;
    const ids = await Promise.all(
      Array.from({ length: 8 }, (_, i) => enqueue(perTenant, { tenant: i % 2 ? 'acme' : 'globex' }, {}, engine).then((t) => t.taskId)),
    );

    await runUntilTerminalOn([engine], aws, ids, 55_000);

    for (const tenant of ['acme', 'globex']) {
      // Four tokens each, half a second apart: none started before its own.
      const tokens = await tokenTimes('ctl_rate_tenant', tenant, 4, 500);
      const startsOf = starts.filter((s) => s.key === tenant).map((s) => s.at);
      expect(tokens[0]).toBeLessThanOrEqual(Math.min(...startsOf));
      expect(noneBeforeItsToken(startsOf, tokens)).toEqual([true, true, true, true]);
    }
    // Both tenants' first tokens came at once: the buckets are apart.
    const firsts = ['acme', 'globex'].map((tenant) => Math.min(...starts.filter((s) => s.key === tenant).map((s) => s.at)));
    expect(Math.abs(firsts[0]! - firsts[1]!)).toBeLessThan(400);
  });
});
