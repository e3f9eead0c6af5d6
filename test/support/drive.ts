import { DeleteMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type { Engine } from '../../lib/engine';
import { processBatch, type DeadlineSource } from '../../lib/worker';
import { claimTask } from '../../lib/store/claims';
import { readCounts } from '../../lib/store/counters';
import { newTaskItems, type StateItem, type TaskItem } from '../../lib/store/items';
import { newTaskId } from '../../lib/keys';
import type { TaskRecord } from '../../lib/types';
import { TERMINAL_STATUSES } from '../../lib/types';
import type { LocalAws } from './aws';
import type { FaultKit } from './faults';
import { putStateOf } from './storeFixture';
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

/**
 * Plays the event source for several worker instances at once (each engine
 * its own Lambda, as AWS would run them side by side): each keeps receiving
 * from both queues and running what it gets, until every task in `taskIds`
 * is terminal.
 */
export async function runUntilTerminalOn(engines: Engine[], aws: LocalAws, taskIds: string[], timeoutMs = 60_000): Promise<TaskRecord[]> {
  const until = Date.now() + timeoutMs;
  let done = false;
  const lanes = engines.flatMap((engine) =>
    Object.values(engine.config.queueUrls).map(async (url) => {
      while (!done && Date.now() < until) await runOneBatch(engine, aws, url, 0);
    }),
  );
  try {
    for (;;) {
      const records = await Promise.all(taskIds.map((id) => engines[0]!.store.get(id)));
      if (records.every((r) => r && TERMINAL_STATUSES.includes(r.status))) return records as TaskRecord[];
      if (Date.now() > until) throw new Error(`tasks not terminal in time: ${records.map((r) => r?.status).join(',')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    done = true;
    await Promise.all(lanes);
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

/** Polls `queueUrl` (without a long poll, which the local server holds to its end) until a batch comes, and runs it. */
export async function runNextBatch(engine: Engine, aws: LocalAws, queueUrl: string, timeoutMs = 10_000): Promise<{ received: number; response: SQSBatchResponse }> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const batch = await runOneBatch(engine, aws, queueUrl, 0);
    if (batch.received > 0 || Date.now() > until) return batch;
  }
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

/**
 * Runs `records` through the worker on `engine`, whose SQS client `sqs`
 * watches, with `context`'s deadline (none if undefined): the messages handed
 * back, and the visibility the worker set for each (by message id).
 */
export async function runWorker(
  engine: Engine,
  sqs: FaultKit,
  records: SQSRecord[],
  context: DeadlineSource | undefined,
): Promise<{ failures: string[]; visibility: Map<string, number> }> {
  const calls = sqs.calls.length;
  const response = await processBatch(engine, { Records: records }, context);
  const byHandle = new Map(records.map((r) => [r.receiptHandle, r.messageId]));
  const visibility = new Map(
    sqs.calls
      .slice(calls)
      .filter((c) => c.command === 'ChangeMessageVisibility')
      .map((c) => [byHandle.get(c.input.ReceiptHandle)!, c.input.VisibilityTimeout as number]),
  );
  return { failures: response.batchItemFailures.map((f) => f.itemIdentifier), visibility };
}

/** Claims a task directly, as a worker whose process then dies would: for tests that need a lease in place. */
export async function claimById(engine: Engine, taskId: string, at: Date, leaseMs: number): Promise<StateItem> {
  const { task, state } = await engine.store.getItems(taskId);
  const claimed = task && (await claimTask(engine.store, task, state?.run ?? 1, at, leaseMs)).claimed;
  if (!claimed) throw new Error(`could not claim ${taskId}`);
  return claimed;
}

/** Tasks counted as `field` (the dashboard's counters) over the last two minutes. */
export async function recentlyCounted(engine: Engine, field: 'succeeded' | 'failed' | 'cancelled'): Promise<number> {
  const minutes = await readCounts(engine.store, new Date(Date.now() - 120_000), new Date());
  return minutes.reduce((n, m) => n + m[field], 0);
}

/**
 * A task written straight into the table, as the code under test would meet
 * it: its definition (task `name`, `payload` of its id), and its state as
 * `state` says (PENDING run 1 by default; none if undefined).
 */
export async function storedTask(engine: Engine, name: string, state?: Partial<StateItem>, payload: (taskId: string) => unknown = () => ({})): Promise<TaskItem> {
  const taskId = newTaskId();
  const json = JSON.stringify(payload(taskId));
  const items = newTaskItems(
    { taskId, name, payload: undefined, priority: 'default', maxAttempts: 3, timeoutSeconds: 30, createdAt: new Date().toISOString(), expiresAt: Math.floor(Date.now() / 1000) + 86_400 },
    json,
    Buffer.byteLength(json),
  );
  await engine.store.create(items);
  const { task } = items;
  if (state) await putStateOf(engine.store, task, { status: 'PENDING', attempts: 0, updatedAt: task.createdAt, claimableAt: 0, ...state });
  return task;
}

/** A promise to hold a call on (`wait`) until the test `open`s it. */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}
