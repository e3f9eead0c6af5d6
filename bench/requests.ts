import { DeleteMessageBatchCommand } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { withBackgroundTasks } from '../lib/background';
import { createApiHandler } from '../lib/http/api';
import { stateKey } from '../lib/store/items';
import { defineTask } from '../lib/task';
import { TERMINAL_STATUSES } from '../lib/types';
import { processBatch } from '../lib/worker';
import { apiEvent, lambdaContext, receiveEvent } from '../test/support/events';
import type { BenchAws } from './servers';

/** A task whose payload is one string of the size under test; it returns a small result, as most tasks do. It can fail its first attempt, to price a retry. */
export const blob = defineTask({
  name: 'bench_blob',
  payload: z.object({ blob: z.string(), failOnce: z.optional(z.boolean()) }),
  backoff: { baseSeconds: 0.5, maxSeconds: 1 },
  run: ({ blob, failOnce }, ctx) => {
    if (failOnce && ctx.attempt === 1) throw new Error('first attempt fails, as asked');
    return { length: blob.length };
  },
});

export type Mode = 'single' | 'batch' | 'withBackgroundTasks';

export interface TaskCost {
  tasks: number;
  payloadBytes: number;
  /** Requests the servers saw, per task, by action. */
  dynamodb: Record<string, number>;
  sqs: Record<string, number>;
  sqsRequestsPerTask: number;
  /** DynamoDB write units per task, by DynamoDB's rules (test/support/capacity.ts), in all and by item kind. */
  writeUnits: number;
  writeUnitsByKind: Record<string, number>;
  /** Of which the one write that stores the payload. */
  payloadWriteUnits: number;
  readUnits: number;
  /** One of the tasks, to look at what it left in the table. */
  sampleTaskId: string;
}

/** The payload of the size under test: JSON of exactly `bytes` bytes. */
export function payloadOf(bytes: number): { blob: string } {
  return { blob: 'x'.repeat(Math.max(0, bytes - '{"blob":""}'.length)) };
}

/** A payload just small enough that a task's definition item fits in 1 KB: one write unit. */
export const FITS_ONE_UNIT_BYTES = 800;

/**
 * Runs `tasks` tasks from enqueue to SUCCEEDED in one of three ways and
 * divides what the servers counted, and what DynamoDB would bill, by the
 * tasks. The worker side includes the event source's own receives and deletes
 * (SQS bills those too) and the dashboard's counters.
 */
export async function measureTasks(aws: BenchAws, mode: Mode, tasks: number, payloadBytes: number, failOnce = false): Promise<TaskCost> {
  const engine = aws.metered;
  const api = createApiHandler({ engine, apiKeys: async () => ['bench-key'] });
  const payload = { ...payloadOf(payloadBytes), ...(failOnce ? { failOnce } : {}) };
  aws.dynamoCounter.reset();
  aws.sqsCounter.reset();
  aws.meter.reset();
  const ids: string[] = [];
  if (mode === 'single') {
    for (let i = 0; i < tasks; i++) {
      const res = await api(apiEvent('POST', '/tasks', { body: { name: blob.name, payload }, apiKey: 'bench-key' }), lambdaContext());
      ids.push((JSON.parse(res.body) as { taskId: string }).taskId);
    }
  } else if (mode === 'batch') {
    for (let i = 0; i < tasks; i += 100) {
      const batch = Array.from({ length: Math.min(100, tasks - i) }, () => ({ name: blob.name, payload }));
      const res = await api(apiEvent('POST', '/tasks/batch', { body: { tasks: batch }, apiKey: 'bench-key' }), lambdaContext());
      ids.push(...(JSON.parse(res.body) as { items: Array<{ taskId: string }> }).items.map((t) => t.taskId));
    }
  } else {
    const handler = withBackgroundTasks(
      async (_event: unknown, _ctx, backgroundTasks) => {
        for (let j = 0; j < 10; j++) ids.push(backgroundTasks.add(blob, payload).taskId);
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
  const written = aws.meter.writeUnits();
  const readUnits = aws.meter.readUnits();
  // Checking the outcome is not part of the work measured: read after the snapshot, through the unmetered client.
  for (const id of ids) {
    const state = await aws.observerGet(stateKey(id));
    if (!state || !TERMINAL_STATUSES.includes(state.status as never) || state.status !== 'SUCCEEDED') throw new Error(`${mode}: not every task SUCCEEDED`);
  }
  const per = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v / ids.length]));
  const byKind = per(written.byKind);
  return {
    tasks: ids.length,
    payloadBytes,
    dynamodb: per(dynamoCounts),
    sqs: per(sqsCounts),
    sqsRequestsPerTask: Object.values(sqsCounts).reduce((s, v) => s + v, 0) / ids.length,
    writeUnits: written.total / ids.length,
    writeUnitsByKind: byKind,
    payloadWriteUnits: payloadBytes > 4096 ? (byKind.PAYLOAD ?? 0) : (byKind.TASK ?? 0),
    readUnits: readUnits / ids.length,
    sampleTaskId: ids[0]!,
  };
}
