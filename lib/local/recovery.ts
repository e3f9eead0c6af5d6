import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { endLease } from '../attempts';
import type { Engine } from '../engine';
import type { OutgoingMessage } from '../queue';
import type { TaskRecord, TaskStatus } from '../types';

/** SQS's longest DelaySeconds. */
const MAX_DELAY_SECONDS = 900;
/** Items examined per Scan page. */
const PAGE = 500;

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
 * A lease can outlast SQS's longest delay (a task with a timeout near the
 * worker's 15 minutes): its message would arrive while the lease still holds
 * and be skipped as a duplicate. Such a lease is ended now instead, since the
 * process that held it is gone, and the task is taken over at once.
 *
 * Not run on AWS: there the queue is durable, a message outlives any worker,
 * and a task only lacks one after a double fault at enqueue (see enqueue.ts).
 */
export async function requeueUnfinishedTasks(engine: Engine): Promise<RecoveryReport> {
  const report: RecoveryReport = { requeued: {}, failed: [] };
  const now = engine.now();
  const nowMs = now.getTime();
  let startKey: Record<string, unknown> | undefined;
  do {
    // A Scan of the table, not the status index: dynalite writes an item's
    // index entries before the item, so a kill between the two leaves the
    // index saying "finished" for a task the table still has RUNNING.
    const page = await engine.store.client.send(
      new ScanCommand({
        TableName: engine.store.tableName,
        FilterExpression: '#s IN (:pending, :retrying, :running)',
        ProjectionExpression: 'taskId, #n, #s, priority, createdAt, delaySeconds, leaseExpiresAt',
        ExpressionAttributeNames: { '#s': 'status', '#n': 'name' },
        ExpressionAttributeValues: { ':pending': 'PENDING', ':retrying': 'RETRYING', ':running': 'RUNNING' },
        Limit: PAGE,
        ExclusiveStartKey: startKey,
      }),
    );
    const records = (page.Items ?? []) as UnfinishedTask[];
    await Promise.all(
      records
        .filter((record) => record.status === 'RUNNING' && leaseEnd(record) - nowMs > MAX_DELAY_SECONDS * 1000)
        .map(async (record) => {
          if (await endLease(engine.store, record.taskId, record.leaseExpiresAt, now)) record.leaseExpiresAt = nowMs - 1;
        }),
    );
    const failed = await engine.queue.sendMany(records.map((record) => messageFor(record, nowMs)));
    report.failed.push(...failed.keys());
    for (const record of records) {
      if (!failed.has(record.taskId)) report.requeued[record.status] = (report.requeued[record.status] ?? 0) + 1;
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return report;
}

function leaseEnd(record: UnfinishedTask): number {
  return (record.leaseExpiresAt ?? 0) + 1_000;
}

type UnfinishedTask = Pick<TaskRecord, 'taskId' | 'name' | 'status' | 'priority' | 'createdAt' | 'delaySeconds' | 'leaseExpiresAt'>;

/** The message, delayed until the task may run: its lease ends, or the delay it was enqueued with. */
function messageFor(record: UnfinishedTask, nowMs: number): OutgoingMessage {
  const runsAt =
    record.status === 'RUNNING'
      ? leaseEnd(record)
      : record.status === 'PENDING'
        ? Date.parse(record.createdAt) + (record.delaySeconds ?? 0) * 1000
        : nowMs;
  return {
    message: { v: 1, taskId: record.taskId, name: record.name },
    priority: record.priority,
    delaySeconds: Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil((runsAt - nowMs) / 1000))),
  };
}
