import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Engine } from '../engine';
import { toMessage, type OutgoingMessage } from '../message';
import { runsAtOf } from '../schedules/runAt';
import { endLease } from '../store/claims';
import { isStateSk, shardPks, taskIdOfSk, type StateItem, type TaskItem } from '../store/items';
import type { TaskStatus } from '../types';

/** SQS's longest DelaySeconds. */
const MAX_DELAY_SECONDS = 900;
/** Items per Query page. */
const PAGE = 500;

export interface RecoveryReport {
  /** Tasks whose message was sent again, by status. */
  requeued: Partial<Record<TaskStatus, number>>;
  /** Ids whose message could not be sent (they stay as they are; the next start tries again). */
  failed: string[];
}

/**
 * Sends a fresh message, for its current run, for every task that is not
 * finished: PENDING and RETRYING tasks when they may next run (after their
 * delay, runAt or backoff; a task due more than 15 minutes from now is left to
 * its timer, which the table keeps), RUNNING ones when their lease ends (the process that
 * held it is gone). Locally the queue lives in memory, so after a restart no
 * such task has a message any more. A task that still had one (an external
 * SQS server) now has two, which the worker's conditional claim makes
 * harmless.
 *
 * A lease can outlast SQS's longest delay (a task with a timeout near the
 * worker's 15 minutes): its message would arrive while the lease still holds.
 * Such a lease is ended now instead, since the process that held it is gone,
 * and the task is taken over at once.
 *
 * Not run on AWS: there the queue is durable, a message outlives any worker,
 * and every unfinished task keeps one (docs/delivery-semantics.md).
 */
export async function requeueUnfinishedTasks(engine: Engine): Promise<RecoveryReport> {
  const report: RecoveryReport = { requeued: {}, failed: [] };
  const now = engine.now();
  await Promise.all(
    shardPks().map(async (pk) => {
      let startKey: Record<string, unknown> | undefined;
      let carried: Record<string, unknown>[] = [];
      do {
        const page = await engine.store.client.send(
          new QueryCommand({ TableName: engine.store.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk }, Limit: PAGE, ExclusiveStartKey: startKey }),
        );
        startKey = page.LastEvaluatedKey;
        const items = [...carried, ...(page.Items ?? [])];
        // A task's state sorts right after it: a page that ends on a task may have its state on the next one.
        const last = items.at(-1);
        carried = startKey && last && !isStateSk(String(last.sk)) ? [items.pop()!] : [];
        const unfinished = await unfinishedTasks(engine, items, now);
        const failed = await engine.queue.sendMany(unfinished.map((u) => u.message));
        report.failed.push(...failed.keys());
        for (const u of unfinished) if (!failed.has(u.message.message.taskId)) report.requeued[u.status] = (report.requeued[u.status] ?? 0) + 1;
      } while (startKey);
    }),
  );
  return report;
}

/** The messages a page of a shard needs: one per unfinished task whose definition is there. */
async function unfinishedTasks(engine: Engine, items: Record<string, unknown>[], now: Date): Promise<Array<{ status: TaskStatus; message: OutgoingMessage }>> {
  const states = new Map<string, StateItem>();
  for (const item of items) if (isStateSk(String(item.sk))) states.set(taskIdOfSk(String(item.sk)), item as unknown as StateItem);
  const tasks = items.filter((item) => !isStateSk(String(item.sk))) as unknown as TaskItem[];
  const nowMs = now.getTime();
  const out: Array<{ status: TaskStatus; message: OutgoingMessage }> = [];
  for (const task of tasks) {
    // A workflow's own record runs nothing (lib/workflows): its steps have their messages.
    if (task.workflow && 'kind' in task.workflow) continue;
    const state = states.get(task.taskId);
    const status = state?.status ?? 'PENDING';
    let runsAt: number;
    if (!state || (status === 'PENDING' && !state.stopped && state.run === 1 && state.attempts === 0)) {
      runsAt = runsAtOf(task);
      // Further ahead than SQS can hold it: its timer, kept in the table, sends it (lib/schedules/tableTimers.ts).
      if (runsAt - nowMs > MAX_DELAY_SECONDS * 1000) continue;
    } else if (status === 'PENDING' && !state.stopped) runsAt = nowMs;
    else if (status === 'RETRYING') runsAt = state.claimableAt ?? nowMs;
    else if (status === 'RUNNING') {
      runsAt = (state.claimableAt ?? 0) + 1_000;
      if (runsAt - nowMs > MAX_DELAY_SECONDS * 1000 && (await endLease(engine.store, task.taskId, state.claimableAt, now))) runsAt = nowMs;
    } else continue;
    const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil((runsAt - nowMs) / 1000)));
    out.push({ status, message: toMessage(task, state?.run ?? 1, delaySeconds) });
  }
  return out;
}
