import { DeleteMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import type { Engine } from '../../lib/engine';
import { processBatch } from '../../lib/worker';
import { claimTask } from '../../lib/store/claims';
import { readCounts } from '../../lib/store/counters';
import type { StateItem } from '../../lib/store/items';
import type { TaskRecord } from '../../lib/types';
import { TERMINAL_STATUSES } from '../../lib/types';
import type { LocalAws } from './aws';
import { lambdaContext, receiveEvent } from './events';

/**
 * Plays the SQS event source by hand: receives batches from both queues and
 * runs them through the worker until every task in `taskIds` is terminal.
 */
export async function runUntilTerminal(engine: Engine, aws: LocalAws, taskIds: string[], timeoutMs = 20_000): Promise<TaskRecord[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const records = await Promise.all(taskIds.map((id) => engine.store.get(id)));
    if (records.every((r) => r && TERMINAL_STATUSES.includes(r.status))) return records as TaskRecord[];
    if (Date.now() > until) throw new Error(`tasks not terminal in time: ${records.map((r) => r?.status).join(',')}`);
    await Promise.all(Object.values(engine.config.queueUrls).map((url) => runOneBatch(engine, aws, url, 0)));
  }
}

/** One receive (long poll `waitSeconds`) and one worker invocation; deletes what the worker acknowledged, as the event source does. */
export async function runOneBatch(engine: Engine, aws: LocalAws, queueUrl: string, waitSeconds = 1): Promise<{ received: number; response: SQSBatchResponse }> {
  const event = await receiveEvent(aws.sqs, queueUrl, 10, waitSeconds);
  if (event.Records.length === 0) {
    await new Promise((r) => setTimeout(r, 100));
    return { received: 0, response: { batchItemFailures: [] } };
  }
  const response = await processBatch(engine, event, lambdaContext());
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  const done = event.Records.filter((r) => !failed.has(r.messageId));
  if (done.length > 0) {
    await aws.sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })) }),
    );
  }
  return { received: event.Records.length, response };
}

/** Runs batches from `queueUrl` until no message is visible; returns how many were received. */
export async function drainQueue(engine: Engine, aws: LocalAws, queueUrl: string): Promise<number> {
  let received = 0;
  for (;;) {
    const batch = await runOneBatch(engine, aws, queueUrl, 0);
    if (batch.received === 0) return received;
    received += batch.received;
  }
}

/** Claims a task directly, as a worker whose process then dies would: for tests that need a lease in place. */
export async function claimById(engine: Engine, taskId: string, at: Date, leaseMs: number): Promise<StateItem> {
  const { task, state } = await engine.store.getItems(taskId);
  const claimed = task && (await claimTask(engine.store, task, state?.run ?? 1, at, leaseMs));
  if (!claimed) throw new Error(`could not claim ${taskId}`);
  return claimed;
}

/** Tasks counted as `field` (the dashboard's counters) over the last two minutes. */
export async function recentlyCounted(engine: Engine, field: 'succeeded' | 'failed' | 'cancelled'): Promise<number> {
  const minutes = await readCounts(engine.store, new Date(Date.now() - 120_000), new Date());
  return minutes.reduce((n, m) => n + m[field], 0);
}
