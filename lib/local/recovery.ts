import type { Engine } from '../engine';
import type { OutgoingMessage } from '../queue';
import type { TaskRecord, TaskStatus } from '../types';

/** SQS's longest DelaySeconds. */
const MAX_DELAY_SECONDS = 900;
const PAGE = 100;

export interface RecoveryReport {
  /** Tasks whose message was sent again, by status. */
  requeued: Partial<Record<TaskStatus, number>>;
  /** Ids whose message could not be sent (they stay as they are; the next start tries again). */
  failed: string[];
}

/**
 * Sends a fresh message for every task that is not finished: PENDING and
 * RETRYING tasks at once, RUNNING ones when their lease ends (the process that
 * held it is gone). Locally the queue lives in memory, so after a restart no
 * such task has a message any more. A task that still had one (an external
 * SQS server) now has two, which the worker's conditional claim makes
 * harmless: the second delivery finds the task running or finished and skips.
 *
 * Not run on AWS: there the queue is durable, a message outlives any worker,
 * and a task only lacks one after a double fault at enqueue (see enqueue.ts).
 */
export async function requeueUnfinishedTasks(engine: Engine): Promise<RecoveryReport> {
  const report: RecoveryReport = { requeued: {}, failed: [] };
  const nowMs = engine.now().getTime();
  for (const status of ['PENDING', 'RETRYING', 'RUNNING'] as const) {
    let cursor: string | undefined;
    do {
      const page = await engine.store.list({ status, limit: PAGE, cursor });
      const messages = page.items.map((record) => messageFor(record, nowMs));
      const failed = await engine.queue.sendMany(messages);
      report.failed.push(...failed.keys());
      const sent = messages.length - failed.size;
      if (sent > 0) report.requeued[status] = (report.requeued[status] ?? 0) + sent;
      cursor = page.nextCursor;
    } while (cursor);
  }
  return report;
}

/** The message, delayed until the task may run: its lease ends, or the delay it was enqueued with. */
function messageFor(record: TaskRecord, nowMs: number): OutgoingMessage {
  const runsAt =
    record.status === 'RUNNING'
      ? (record.leaseExpiresAt ?? 0) + 1_000
      : record.status === 'PENDING'
        ? Date.parse(record.createdAt) + (record.delaySeconds ?? 0) * 1000
        : nowMs;
  return {
    message: { v: 1, taskId: record.taskId, name: record.name },
    priority: record.priority,
    delaySeconds: Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil((runsAt - nowMs) / 1000))),
  };
}
