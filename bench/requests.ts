import { DeleteMessageBatchCommand } from '@aws-sdk/client-sqs';
import { withBackgroundTasks } from '../lib/background';
import { processBatch } from '../lib/worker';
import { createApiHandler } from '../lib/http/api';
import { writeLog } from '../lib/tasks/examples';
import { TERMINAL_STATUSES } from '../lib/types';
import { apiEvent, lambdaContext, receiveEvent } from '../test/support/events';
import type { BenchAws } from './servers';

export interface RequestsPerTask {
  tasks: number;
  /** Requests the servers saw, per successful task, by action. */
  dynamodb: Record<string, number>;
  sqs: Record<string, number>;
  sqsSendsPerTask: number;
  dynamodbWriteRequestsPerTask: number;
  dynamodbReadRequestsPerTask: number;
}

const WRITES = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'];
const READS = ['GetItem', 'Query', 'BatchGetItem'];

/**
 * Runs `tasks` write_log tasks from enqueue to SUCCEEDED in one of three ways
 * and divides the requests the servers counted by the tasks. The worker side
 * includes the event source's own receives and deletes (SQS bills those too).
 */
export async function countRequests(aws: BenchAws, mode: 'single' | 'batch' | 'withBackgroundTasks', tasks: number): Promise<RequestsPerTask> {
  const { engine } = aws;
  const api = createApiHandler({ engine, apiKeys: async () => ['bench-key'] });
  aws.dynamoCounter.reset();
  aws.sqsCounter.reset();
  const ids: string[] = [];
  if (mode === 'single') {
    for (let i = 0; i < tasks; i++) {
      const res = await api(apiEvent('POST', '/tasks', { body: { name: 'write_log', payload: { message: `r${i}` } }, apiKey: 'bench-key' }), lambdaContext());
      ids.push((JSON.parse(res.body) as { taskId: string }).taskId);
    }
  } else if (mode === 'batch') {
    for (let i = 0; i < tasks; i += 100) {
      const batch = Array.from({ length: Math.min(100, tasks - i) }, (_, j) => ({ name: 'write_log', payload: { message: `b${i + j}` } }));
      const res = await api(apiEvent('POST', '/tasks/batch', { body: { tasks: batch }, apiKey: 'bench-key' }), lambdaContext());
      ids.push(...(JSON.parse(res.body) as { items: Array<{ taskId: string }> }).items.map((t) => t.taskId));
    }
  } else {
    const handler = withBackgroundTasks(
      async (_event: unknown, _ctx, backgroundTasks) => {
        for (let j = 0; j < 10; j++) ids.push(backgroundTasks.add(writeLog, { message: `w${j}` }).taskId);
        return { statusCode: 200, body: '' };
      },
      { engine: () => engine },
    );
    for (let i = 0; i < tasks; i += 10) await handler(apiEvent('POST', '/signup'), lambdaContext());
  }
  // Play the event source until every task is terminal.
  const url = engine.config.queueUrls.default;
  let done = 0;
  while (done < ids.length) {
    const event = await receiveEvent(aws.sqs, url, 10, 1);
    if (event.Records.length === 0) continue;
    const response = await processBatch(engine, event, lambdaContext());
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    const acked = event.Records.filter((r) => !failed.has(r.messageId));
    if (acked.length > 0) await aws.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: acked.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })) }));
    done += acked.length;
  }
  const dynamoCounts = aws.dynamoCounter.snapshot();
  const sqsCounts = aws.sqsCounter.snapshot();
  // Checking the outcome is not part of the work measured: read after the snapshot.
  const records = await Promise.all(ids.map((id) => engine.store.get(id)));
  if (!records.every((r) => r && TERMINAL_STATUSES.includes(r.status) && r.status === 'SUCCEEDED')) throw new Error(`${mode}: not every task SUCCEEDED`);
  const per = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v / ids.length]));
  const sum = (counts: Record<string, number>, keys: string[]) => keys.reduce((s, k) => s + (counts[k] ?? 0), 0) / ids.length;
  return {
    tasks: ids.length,
    dynamodb: per(dynamoCounts),
    sqs: per(sqsCounts),
    sqsSendsPerTask: sum(sqsCounts, ['SendMessage', 'SendMessageBatch']),
    dynamodbWriteRequestsPerTask: sum(dynamoCounts, WRITES),
    dynamodbReadRequestsPerTask: sum(dynamoCounts, READS),
  };
}
