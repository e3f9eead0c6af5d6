import { DeleteMessageBatchCommand } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { enqueue } from '../lib/enqueue';
import { stateKey } from '../lib/store/items';
import { defineTask } from '../lib/task';
import { TERMINAL_STATUSES } from '../lib/types';
import { processBatch } from '../lib/worker';
import { chain, group } from '../lib/workflows';
import { lambdaContext, receiveEvent } from '../test/support/events';
import type { Units } from './control';
import type { BenchAws } from './servers';

/**
 * What a workflow costs beyond its steps run as separate tasks, in DynamoDB
 * write and read units by DynamoDB's rules (test/support/capacity.ts): a
 * chain of `count` steps, and a group of `count` members with a fan-in,
 * against `count` (or `count + 1`) tasks enqueued one by one.
 */
const step = defineTask({ name: 'bench_wf_step', payload: z.object({ n: z.number() }), run: ({ n }) => ({ n: n + 1 }) });
const fanIn = defineTask({ name: 'bench_wf_fan_in', payload: z.object({ results: z.array(z.unknown()) }), run: ({ results }) => ({ n: results.length }) });

export interface WorkflowCost {
  /** One task that is no step, from enqueue to SUCCEEDED. */
  task: Units;
  chain: Units & { steps: number; extraWriteUnitsPerStep: number; extraReadUnitsPerStep: number };
  group: Units & { members: number; extraWriteUnitsPerStep: number; extraReadUnitsPerStep: number };
}

/** Runs the metered engine's default queue until every one of `ids` is terminal. */
async function drain(aws: BenchAws, ids: string[]): Promise<void> {
  const url = aws.metered.config.queueUrls.default;
  const until = Date.now() + 180_000;
  for (;;) {
    const states = await Promise.all(ids.map((id) => aws.observerGet(stateKey(id))));
    if (states.every((s) => s && TERMINAL_STATUSES.includes(s.status as never))) return;
    if (Date.now() > until) throw new Error(`workflows bench: not terminal: ${states.map((s) => s?.status).join(',')}`);
    const event = await receiveEvent(aws.sqs, url, 10, 0);
    if (event.Records.length === 0) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    const response = await processBatch(aws.metered, event, lambdaContext());
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    const acked = event.Records.filter((r) => !failed.has(r.messageId));
    if (acked.length > 0) await aws.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: acked.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })) }));
  }
}

async function measured(aws: BenchAws, run: () => Promise<string[]>): Promise<Units> {
  aws.meter.reset();
  await drain(aws, await run());
  const written = aws.meter.writeUnits();
  return { writeUnits: written.total, readUnits: aws.meter.readUnits(), byKind: written.byKind };
}

export async function measureWorkflows(aws: BenchAws, count: number): Promise<WorkflowCost> {
  await aws.freshQueues();
  const engine = aws.metered;
  const tasks = await measured(aws, async () => Promise.all(Array.from({ length: count }, async (_, n) => (await enqueue(step, { n }, {}, engine)).taskId)));
  const task = { writeUnits: tasks.writeUnits / count, readUnits: tasks.readUnits / count, byKind: {} };
  const chained = await measured(aws, async () => [(await enqueue(chain(step.with({ n: 0 }), ...Array.from({ length: count - 1 }, () => step)), {}, engine)).taskId]);
  const grouped = await measured(aws, async () => [(await enqueue(group(Array.from({ length: count }, (_, n) => step.with({ n })), { then: fanIn }), {}, engine)).taskId]);
  const perStep = (units: Units, steps: number) => ({
    extraWriteUnitsPerStep: (units.writeUnits - steps * task.writeUnits) / steps,
    extraReadUnitsPerStep: (units.readUnits - steps * task.readUnits) / steps,
  });
  return {
    task,
    chain: { ...chained, steps: count, ...perStep(chained, count) },
    group: { ...grouped, members: count, ...perStep(grouped, count + 1) },
  };
}
