import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bucketKey } from '../../lib/control/keys';
import type { Engine } from '../../lib/engine';
import { enqueue } from '../../lib/enqueue';
import { defineTask } from '../../lib/task';
import { createTestEngine, siblingEngine, startLocalAws, type LocalAws } from '../support/aws';
import { runUntilTerminalOn } from '../support/drive';
import { timeoutError } from '../support/faults';

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

describe('rate limit: defineTask({ rateLimit })', () => {
  it('spreads 50 tasks at 10 a second over at least 4 s on two worker instances, none before its token, 100 ms apart', { timeout: 90_000 }, async () => {
    starts.length = 0;
    const other = siblingEngine(aws, engine);
    // A take whose answer is lost below the SDK's retries is its own: it must not take a second token, nor lose the first.
    const lost = other.dynamo.add({ command: 'UpdateItem', step: 'deserialize', effect: 'lose-answer', error: timeoutError, when: firstTryOfEveryThird((input) => pkOf(input).startsWith('RATE#')) });
    const ids = await Promise.all(Array.from({ length: 50 }, () => enqueue(tenPerSecond, {}, {}, engine).then((t) => t.taskId)));

    const records = await runUntilTerminalOn([engine, other.engine], aws, ids, 80_000);

    expect(records.map((r) => [r.status, r.attempts])).toEqual(ids.map(() => ['SUCCEEDED', 1]));
    const offsets = sinceFirst(starts.map((s) => s.at));
    expect(offsets).toHaveLength(50);
    expect(offsets.at(-1)).toBeGreaterThanOrEqual(4_000);
    // Each start waits for its token, and tokens come 100 ms apart (a little slack for the first start's own delay after its token).
    // Exactly 50 tokens, 100 ms apart (a take whose answer was lost took one, not two), and none started before its own.
    const tokens = await tokenTimes('ctl_rate_10s', undefined, 50, 100);
    expect(tokens[0]).toBeLessThanOrEqual(Math.min(...starts.map((s) => s.at)));
    expect(tokens[0]).toBeGreaterThan(Math.min(...starts.map((s) => s.at)) - 1_000);
    expect(noneBeforeItsToken(starts.map((s) => s.at), tokens)).toEqual(tokens.map(() => true));
    expect(lost.hits).toBeGreaterThan(0);
  });

  it('keeps a bucket per key: two tenants at 2 a second each start side by side', { timeout: 60_000 }, async () => {
    starts.length = 0;
    const ids = await Promise.all(
      Array.from({ length: 8 }, (_, i) => enqueue(perTenant, { tenant: i % 2 ? 'acme' : 'globex' }, {}, engine).then((t) => t.taskId)),
    );

    await runUntilTerminalOn([engine], aws, ids, 55_000);

    for (const tenant of ['acme', 'globex']) {
      const tokens = await tokenTimes('ctl_rate_tenant', tenant, 4, 500);
      expect(noneBeforeItsToken(starts.filter((s) => s.key === tenant).map((s) => s.at), tokens)).toEqual([true, true, true, true]);
      expect(sinceFirst(starts.filter((s) => s.key === tenant).map((s) => s.at)).at(-1)).toBeGreaterThanOrEqual(1_400);
    }
    // Both tenants' first tokens came at once: the buckets are apart.
    const firsts = ['acme', 'globex'].map((tenant) => Math.min(...starts.filter((s) => s.key === tenant).map((s) => s.at)));
    expect(Math.abs(firsts[0]! - firsts[1]!)).toBeLessThan(400);
  });
});
