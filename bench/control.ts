import { DeleteMessageBatchCommand } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { cancelTask } from '../lib/cancel';
import type { Engine } from '../lib/engine';
import { enqueue } from '../lib/enqueue';
import { stateKey } from '../lib/store/items';
import { defineTask, type TaskDefinition } from '../lib/task';
import { TERMINAL_STATUSES } from '../lib/types';
import { processBatch } from '../lib/worker';
import { lambdaContext, receiveEvent } from '../test/support/events';
import type { BenchAws } from './servers';

/**
 * What each feature of lib/control costs a task, in DynamoDB write and read
 * units by DynamoDB's rules (test/support/capacity.ts), beside a task that
 * uses none of them: the same work with the feature on, minus the same work
 * without it. Tasks run one batch at a time, so that limits never make them wait.
 */

const plain = defineTask({ name: 'bench_ctl_plain', payload: z.object({ n: z.number() }), run: ({ n }) => ({ n }) });
const limited = defineTask({ name: 'bench_ctl_limited', payload: z.object({ n: z.number() }), concurrency: 100, run: ({ n }) => ({ n }) });
const limitedPerKey = defineTask({ name: 'bench_ctl_limited_key', payload: z.object({ n: z.number() }), concurrency: 100, concurrencyKey: ({ n }) => `tenant-${n % 3}`, run: ({ n }) => ({ n }) });
const rated = defineTask({ name: 'bench_ctl_rated', payload: z.object({ n: z.number() }), rateLimit: { max: 10_000, per: 1, burst: 10_000 }, run: ({ n }) => ({ n }) });
/** Reports {done, total} every 200 ms for two seconds: two or three progress writes, and the last value with its outcome. */
const reporting = defineTask({
  name: 'bench_ctl_progress',
  payload: z.object({ n: z.number() }),
  run: async ({ n }, ctx) => {
    for (let done = 1; done <= 10; done++) {
      await new Promise((r) => setTimeout(r, 200));
      void ctx.progress({ done, total: 10, message: `step ${done} of 10` });
    }
    return { n };
  },
});
/** Runs until its signal aborts: cancelled while it runs. */
const listening = defineTask({
  name: 'bench_ctl_listening',
  payload: z.object({ n: z.number() }),
  run: (_, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error))),
});

export interface Units {
  writeUnits: number;
  readUnits: number;
  /** Write units by item kind (STATE, TASK, LIMIT, RATE, DEBOUNCE, PAYLOAD, STATS...). */
  byKind: Record<string, number>;
}

export interface ControlCost {
  /** A task that uses no feature, from enqueue to SUCCEEDED (100 B payload). */
  none: Units;
  /** Each feature: per task, and beyond `none`. */
  features: Record<string, Units & { extraWriteUnits: number; extraReadUnits: number; note: string }>;
}

/** Runs every message of the metered engine's default queue until the tasks are terminal; `during` runs while the first batch is in flight. */
async function drain(aws: BenchAws, ids: string[], during?: () => Promise<void>): Promise<void> {
  const engine = aws.metered;
  const url = engine.config.queueUrls.default;
  const until = Date.now() + 120_000;
  let first = true;
  for (;;) {
    const states = await Promise.all(ids.map((id) => aws.observerGet(stateKey(id))));
    if (states.every((s) => s && TERMINAL_STATUSES.includes(s.status as never))) return;
    if (Date.now() > until) throw new Error(`control bench: tasks not terminal: ${states.map((s) => s?.status).join(',')}`);
    const event = await receiveEvent(aws.sqs, url, 10, 0);
    if (event.Records.length === 0) {
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    const batch = processBatch(engine, event, lambdaContext());
    if (first && during) await during();
    first = false;
    const response = await batch;
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    const acked = event.Records.filter((r) => !failed.has(r.messageId));
    if (acked.length > 0) await aws.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: acked.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })) }));
  }
}

/** Units per task of enqueuing `count` tasks of `task` (one at a time, through enqueue()) and running them, with the meter on. */
async function unitsPerTask(aws: BenchAws, task: TaskDefinition, count: number, options: { during?: (ids: string[]) => Promise<void>; enqueueOptions?: (n: number) => Record<string, unknown> } = {}): Promise<Units> {
  aws.meter.reset();
  const ids: string[] = [];
  for (let n = 0; n < count; n++) ids.push((await enqueue(task, { n } as never, (options.enqueueOptions?.(n) ?? {}) as never, aws.metered)).taskId);
  const distinct = [...new Set(ids)];
  await drain(aws, distinct, options.during && (() => options.during!(distinct)));
  const written = aws.meter.writeUnits();
  const byKind = Object.fromEntries(Object.entries(written.byKind).map(([k, v]) => [k, v / count]));
  return { writeUnits: written.total / count, readUnits: aws.meter.readUnits() / count, byKind };
}

/** Measures each feature's cost per task against a task that uses none. */
export async function measureControl(aws: BenchAws, count: number): Promise<ControlCost> {
  await aws.freshQueues();
  const engine: Engine = aws.metered;
  // Warm each bucket's and limit's first read out of the figures: a worker reads a bucket once per process.
  await unitsPerTask(aws, rated, 1);
  const none = await unitsPerTask(aws, plain, count);
  const feature = (units: Units, note: string) => ({ ...units, extraWriteUnits: units.writeUnits - none.writeUnits, extraReadUnits: units.readUnits - none.readUnits, note });

  const progress = await unitsPerTask(aws, reporting, count);
  const concurrency = await unitsPerTask(aws, limited, count);
  const concurrencyKey = await unitsPerTask(aws, limitedPerKey, count);
  const rateLimit = await unitsPerTask(aws, rated, count);
  // A burst of `count` enqueues of one key: one task, one run.
  const burst = { debounce: { key: `bench-${Date.now()}`, seconds: 1 } };
  const debounce = await unitsPerTask(aws, plain, count, { enqueueOptions: () => burst });
  // One task at a time, cancelled once it runs (the request, and the run's end), against one at a time that succeeds.
  const singly = async (task: TaskDefinition, during?: (ids: string[]) => Promise<void>) => {
    const runs = Math.min(count, 5);
    const sum: Units = { writeUnits: 0, readUnits: 0, byKind: {} };
    for (let i = 0; i < runs; i++) {
      const one = await unitsPerTask(aws, task, 1, { during });
      sum.writeUnits += one.writeUnits / runs;
      sum.readUnits += one.readUnits / runs;
      for (const [kind, units] of Object.entries(one.byKind)) sum.byKind[kind] = (sum.byKind[kind] ?? 0) + units / runs;
    }
    return sum;
  };
  const succeededAlone = await singly(plain);
  const cancelled = await singly(listening, async ([taskId]) => {
    while ((await aws.observerGet(stateKey(taskId!)))?.status !== 'RUNNING') await new Promise((r) => setTimeout(r, 20));
    await cancelTask(engine, taskId!);
  });
  return {
    none,
    features: {
      progress: feature(progress, 'ten values over two seconds: a write a second at most, the last one carried by the outcome write; each a small write of the state item'),
      concurrency: feature(concurrency, 'a slot taken (one Query of the slots, one write) and given back (one write), under the limit'),
      concurrencyKey: feature(concurrencyKey, 'the same, per key'),
      rateLimit: feature(rateLimit, 'one write of the bucket per token (a first read per bucket and worker process, left out)'),
      debounce: {
        ...debounce,
        extraWriteUnits: debounce.writeUnits - none.writeUnits,
        extraReadUnits: debounce.readUnits - none.readUnits,
        note: `per enqueue of a burst of ${count} with one key, which runs once: each later enqueue writes its payload's item and the task's state, instead of a task`,
      },
      cancelRunning: {
        ...cancelled,
        extraWriteUnits: cancelled.writeUnits - succeededAlone.writeUnits,
        extraReadUnits: cancelled.readUnits - succeededAlone.readUnits,
        note: 'a task cancelled while it runs, against one that succeeds (each alone in its batch): the request on its state, and the byAttention entry every CANCELLED task gets; the reads are the api\'s (DELETE reads the task) and the running attempt\'s one look after 2 s',
      },
    },
  };
}
