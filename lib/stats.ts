import type { Engine } from './engine';
import type { QueueDepth } from './queue';
import { readCounts, type FinishedCounts } from './store/counters';
import type { Priority } from './types';

export interface ThroughputBucket {
  /** Start of the minute, ISO 8601 UTC. */
  minute: string;
  succeeded: number;
  failed: number;
}

/** What the dashboard shows above the task list. */
export interface TaskStats {
  generatedAt: string;
  windowMinutes: number;
  /** One bucket per minute, oldest first; the last is the current, partial minute. */
  throughput: ThroughputBucket[];
  /** Over the window: runs that ended each way (a task retried by hand and ending again counts again). */
  totals: FinishedCounts;
  /** What SQS reports of the queues, approximate by nature: messages waiting to run (ready or delayed) and in flight. */
  queues: { waiting: number; inFlight: number; byPriority: Record<Priority, QueueDepth> };
}

/**
 * The dashboard's figures, at a cost that does not grow with the table: the
 * counters the worker adds to once per batch (two Queries for an hour), and
 * the queues' depth from SQS (one call per queue). Finished counts are exact
 * but for a worker that crashes between recording outcomes and adding them;
 * the queues' depth is SQS's approximation, and counts messages, not tasks
 * (a task waiting to retry is a message in flight).
 */
export async function taskStats(engine: Engine, now: Date, windowMinutes = 60): Promise<TaskStats> {
  const from = new Date(now.getTime() - (windowMinutes - 1) * 60_000);
  const [minutes, depth] = await Promise.all([readCounts(engine.store, from, now), engine.queue.depth()]);
  const totals = minutes.reduce<FinishedCounts>(
    (sum, m) => ({ succeeded: sum.succeeded + m.succeeded, failed: sum.failed + m.failed, cancelled: sum.cancelled + m.cancelled }),
    { succeeded: 0, failed: 0, cancelled: 0 },
  );
  const queues = Object.values(depth);
  return {
    generatedAt: now.toISOString(),
    windowMinutes,
    throughput: minutes.map(({ minute, succeeded, failed }) => ({ minute, succeeded, failed })),
    totals,
    queues: {
      waiting: queues.reduce((n, q) => n + q.visible + q.delayed, 0),
      inFlight: queues.reduce((n, q) => n + q.inFlight, 0),
      byPriority: depth,
    },
  };
}
