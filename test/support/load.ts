import type { Stack } from './stack';

export interface LoadOptions {
  count: number;
  /** Requests in flight at once. */
  inFlight: number;
  /** Share of tasks that fail their first attempt (flaky, failTimes 1). */
  flakyShare: number;
  /** Queue of every task (default: the task's own, i.e. default). */
  priority?: 'high' | 'default';
  /** Gives up waiting for terminal states after this long. */
  timeoutMs: number;
}

export interface LoadReport {
  accepted: number;
  rejected: number;
  terminal: Record<string, number>;
  /** Accepted tasks with no terminal state by the end: must be 0. */
  lost: number;
  wallMs: number;
  tasksPerSecond: number;
  /** From the record's createdAt (the api accepted it) to its finishedAt. */
  timeToTerminalMs: { p50: number; p99: number };
  attempts: number;
}

/**
 * Posts `count` tasks through the HTTP API with `inFlight` requests at a time,
 * then polls every accepted one to a terminal state. Shared by the load test,
 * `npm run soak` and the end-to-end benchmark.
 */
export async function runLoad(stack: Stack, options: LoadOptions): Promise<LoadReport> {
  const started = Date.now();
  const postedAt = new Map<string, number>();
  let rejected = 0;
  let next = 0;
  const runId = `${process.pid}-${started}`;
  await Promise.all(
    Array.from({ length: options.inFlight }, async () => {
      while (next < options.count) {
        const i = next++;
        const flaky = options.flakyShare > 0 && i % Math.round(1 / options.flakyShare) === 0;
        const task = {
          ...(flaky ? { name: 'flaky', payload: { failTimes: 1, key: `${runId}-${i}` } } : { name: 'write_log', payload: { message: `load ${runId} #${i}` } }),
          ...(options.priority ? { priority: options.priority } : {}),
        };
        const sentAt = Date.now();
        const { status, body } = await stack.request('POST', '/tasks', task).catch(() => ({ status: 0, body: undefined }));
        if (status === 202 && body) postedAt.set(body.taskId, sentAt);
        else rejected++;
      }
    }),
  );

  const finishedAt = new Map<string, number>();
  const createdAt = new Map<string, number>();
  const terminal: Record<string, number> = {};
  let attempts = 0;
  const deadline = Date.now() + options.timeoutMs;
  while (finishedAt.size < postedAt.size && Date.now() < deadline) {
    const open = [...postedAt.keys()].filter((id) => !finishedAt.has(id));
    for (let i = 0; i < open.length; i += options.inFlight) {
      await Promise.all(
        open.slice(i, i + options.inFlight).map(async (id) => {
          const { status, body } = await stack.request('GET', `/tasks/${id}`).catch(() => ({ status: 0, body: undefined }));
          if (status !== 200 || !body || !['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(body.status)) return;
          // The record's own timestamps, not when this poll happened to see it.
          finishedAt.set(id, Date.parse(String(body.finishedAt)));
          createdAt.set(id, Date.parse(String(body.createdAt)));
          terminal[body.status] = (terminal[body.status] ?? 0) + 1;
          attempts += body.attempts;
        }),
      );
    }
    if (finishedAt.size < postedAt.size) await new Promise((r) => setTimeout(r, 200));
  }
  const latencies = [...finishedAt].map(([id, at]) => at - createdAt.get(id)!).sort((a, b) => a - b);
  const wallMs = Math.max(...finishedAt.values(), started) - started;
  return {
    accepted: postedAt.size,
    rejected,
    terminal,
    lost: postedAt.size - finishedAt.size,
    wallMs,
    tasksPerSecond: Math.round((finishedAt.size / wallMs) * 1000 * 10) / 10,
    timeToTerminalMs: { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) },
    attempts,
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}
