import type { Body, Stack } from './stack';

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

  const last = await pollUntilTerminal(stack, [...postedAt.keys()], { inFlight: options.inFlight, timeoutMs: options.timeoutMs, pollMs: 200 });
  const summary = summariseTerminal([...postedAt.keys()], last);
  const done = postedAt.size - summary.lost.length;
  const wallMs = Math.max(summary.lastFinishedAt, started) - started;
  return {
    accepted: postedAt.size,
    rejected,
    terminal: summary.terminal,
    lost: summary.lost.length,
    wallMs,
    tasksPerSecond: Math.round((done / wallMs) * 1000 * 10) / 10,
    timeToTerminalMs: summary.timeToTerminalMs,
    attempts: summary.attempts,
  };
}

export const TERMINAL_STATUSES = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

/**
 * Reads every task, `inFlight` at a time, round after round, until each is
 * terminal or `timeoutMs` has passed. Returns the last record read of each
 * (absent if no read succeeded); unreachable reads are retried next round.
 */
export async function pollUntilTerminal(
  stack: Stack,
  ids: string[],
  options: { inFlight: number; timeoutMs: number; pollMs: number },
): Promise<Map<string, Body>> {
  const last = new Map<string, Body>();
  const deadline = Date.now() + options.timeoutMs;
  let open = ids;
  while (open.length > 0 && Date.now() < deadline) {
    for (let i = 0; i < open.length; i += options.inFlight) {
      await Promise.all(
        open.slice(i, i + options.inFlight).map(async (id) => {
          const { status, body } = await stack.request('GET', `/tasks/${id}`).catch(() => ({ status: 0, body: undefined }));
          if (status === 200 && body) last.set(id, body);
        }),
      );
    }
    open = open.filter((id) => !TERMINAL_STATUSES.includes(last.get(id)?.status ?? ''));
    if (open.length > 0) await new Promise((r) => setTimeout(r, options.pollMs));
  }
  return last;
}

export interface TerminalSummary {
  /** Terminal tasks by status. */
  terminal: Record<string, number>;
  /** Ids with no terminal record. */
  lost: string[];
  attempts: number;
  /** From each terminal record's createdAt (the api accepted it) to its finishedAt: the record's own times, not when a poll saw it. */
  timeToTerminalMs: { p50: number; p99: number };
  /** The latest finishedAt, epoch ms (0 if none finished). */
  lastFinishedAt: number;
}

export function summariseTerminal(ids: string[], last: Map<string, Body>): TerminalSummary {
  const terminal: Record<string, number> = {};
  const lost: string[] = [];
  const latencies: number[] = [];
  let attempts = 0;
  let lastFinishedAt = 0;
  for (const id of ids) {
    const record = last.get(id);
    if (!record || !TERMINAL_STATUSES.includes(record.status)) {
      lost.push(id);
      continue;
    }
    const finishedAt = Date.parse(String(record.finishedAt));
    terminal[record.status] = (terminal[record.status] ?? 0) + 1;
    attempts += record.attempts;
    latencies.push(finishedAt - Date.parse(String(record.createdAt)));
    lastFinishedAt = Math.max(lastFinishedAt, finishedAt);
  }
  latencies.sort((a, b) => a - b);
  return { terminal, lost, attempts, timeToTerminalMs: { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) }, lastFinishedAt };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}
