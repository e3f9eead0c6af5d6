import { setTimeout as sleepFor } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TERMINAL_STATUSES } from '../../lib/types';
import { copyCheckout, startStack, waitForStatus, type Body, type Stack } from '../support/stack';

/**
 * Control of running work through `npm start`, as docs/control.md tells a
 * user to try it: the example tasks limited_sleep (concurrency 2),
 * throttled_log (2 a second) and sleep (progress each second, cancelled while
 * it runs), and a debounced POST /tasks. One stack for the whole file.
 */
const checkout = copyCheckout();
let stack: Stack;

beforeAll(async () => {
  stack = await startStack(checkout.dir, { LOCAL_DIR: `${checkout.dir}/.local`, LOCAL_FRESH: '1' });
}, 180_000);
afterAll(() => {
  stack?.signal('SIGKILL');
  checkout.remove();
});

const TERMINAL = TERMINAL_STATUSES;

async function post(body: unknown): Promise<string> {
  const { status, body: accepted } = await stack.request('POST', '/tasks', body);
  expect(status).toBe(202);
  return accepted.taskId;
}

/** The most of `spans` open at one instant. */
function peak(spans: Array<[number, number]>): number {
  const edges = spans.flatMap(([start, end]) => [[start, 1], [end, -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, step] of edges) most = Math.max(most, (open += step));
  return most;
}

describe('control through npm start', { timeout: 90_000 }, () => {
  it('runs limited_sleep two at a time: five of them, none charged an attempt for waiting', async () => {
    const ids = await Promise.all(Array.from({ length: 5 }, () => post({ name: 'limited_sleep', payload: { ms: 1_000 } })));

    const records = await Promise.all(ids.map((id) => waitForStatus(stack, id, TERMINAL, 60_000)));

    expect(records.map((r) => [r.status, r.attempts])).toEqual(ids.map(() => ['SUCCEEDED', 1]));
    // From its claim to its outcome, each attempt held a slot.
    expect(peak(records.map((r) => [Date.parse(r.startedAt as string), Date.parse(r.finishedAt as string)]))).toBe(2);
  });

  it('starts throttled_log no faster than two a second', async () => {
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => post({ name: 'throttled_log', payload: { message: `throttled ${i}` } })));

    const records = await Promise.all(ids.map((id) => waitForStatus(stack, id, TERMINAL, 60_000)));

    const starts = records.map((r) => Date.parse((r.result as { startedAt: string }).startedAt)).sort((a, b) => a - b);
    expect(starts.at(-1)! - starts[0]!).toBeGreaterThanOrEqual(2_400);
  });

  it('shows a running sleep\'s progress, and cancels it: 202, then CANCELLED within a few seconds', async () => {
    const taskId = await post({ name: 'sleep', payload: { ms: 60_000 } });
    await waitForStatus(stack, taskId, ['RUNNING'], 20_000);
    const seen: number[] = [];
    while (seen.length < 2) {
      const { body } = await stack.request('GET', `/tasks/${taskId}`);
      const done = (body.progress as { done?: number } | null)?.done;
      if (done !== undefined && done !== seen.at(-1)) seen.push(done);
      await sleepFor(200);
    }
    expect(seen[1]).toBeGreaterThan(seen[0]!);

    const asked = await stack.request('DELETE', `/tasks/${taskId}`);
    expect(asked.status).toBe(202);
    expect(asked.body).toMatchObject({ status: 'RUNNING', cancelRequestedAt: expect.any(String) });
    const cancelled: Body = await waitForStatus(stack, taskId, TERMINAL, 10_000);

    expect(cancelled).toMatchObject({ status: 'CANCELLED', error: { type: 'TaskCancelled' }, cancelRequestedAt: asked.body.cancelRequestedAt });
    expect(Date.parse(cancelled.finishedAt as string) - Date.parse(asked.body.cancelRequestedAt as string)).toBeLessThan(5_000);
  });

  it('runs a burst of debounced enqueues once, with the last payload', async () => {
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) ids.push(await post({ name: 'write_log', payload: { message: `draft ${i}` }, debounce: { key: 'doc-42', seconds: 2 } }));

    expect(new Set(ids).size).toBe(1);
    const record = await waitForStatus(stack, ids[0]!, TERMINAL, 30_000);
    expect(record).toMatchObject({ status: 'SUCCEEDED', attempts: 1, result: { message: 'draft 5' }, debounce: { key: 'doc-42', seconds: 2 } });
  });
});
