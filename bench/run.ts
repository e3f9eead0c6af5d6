/**
 * `npm run bench`: what each task costs, measured beside its floor in the same
 * run. Prints a table, writes bench/results.json and bench/results.svg.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import '../lib/tasks';
import { runLoad, type LoadReport } from '../test/support/load';
import { copyCheckout, startStack } from '../test/support/stack';
import { benchColdStart } from './coldStart';
import { ASSUMPTIONS, costPerMillion, PRICES } from './cost';
import { benchEnqueue, benchWorker } from './enqueueWorker';
import { countRequests } from './requests';
import { startBenchAws } from './servers';
import { round } from './stats';
import { barChart } from './svg';

const quick = process.argv.includes('--quick');

async function main(): Promise<void> {
  const started = Date.now();
  const aws = await startBenchAws();
  // Task logs and EMF lines would measure stdout, not the engine: warnings and errors only, no metrics.
  aws.engine.logger = new Logger({ serviceName: 'bench', logLevel: 'WARN' });
  aws.engine.metrics = undefined;
  try {
    log('enqueue: api handler vs PutItem ∥ SendMessage ...');
    const enqueue = await benchEnqueue(aws, quick ? 3 : 9, quick ? 50 : 200);
    await aws.freshQueues();
    log('worker: batch of 10 vs its unavoidable writes ...');
    const worker = await benchWorker(aws, quick ? 5 : 25);
    log('requests per task, counted at the servers ...');
    const requests = {
      single: await countRequests(aws, 'single', quick ? 50 : 200),
      batch: await countRequests(aws, 'batch', quick ? 100 : 500),
      withBackgroundTasks: await countRequests(aws, 'withBackgroundTasks', quick ? 50 : 200),
    };
    const cost = {
      single: costPerMillion('single', requests.single),
      batch: costPerMillion('batch', requests.batch),
      withBackgroundTasks: costPerMillion('withBackgroundTasks', requests.withBackgroundTasks),
    };
    log('cold start: handler bundles vs a bundle of the two SDK clients ...');
    const coldStart = await benchColdStart(quick ? 5 : 15);
    log('end to end: tasks through npm start, POST to SUCCEEDED ...');
    const endToEnd = await benchEndToEnd(quick ? 200 : 1_000);
    const results = {
      date: new Date().toISOString(),
      machine: { node: process.version, cpus: (await import('node:os')).cpus().length },
      note: 'Latencies are against local dynalite and local-aws-sqs on loopback: they show overhead relative to the floor, not AWS latency.',
      enqueue: { ...enqueue, goal: 1.15 },
      worker: { ...worker, goal: 1.15 },
      requests,
      cost: { perMillionTasksUsd: cost, prices: PRICES, assumptions: ASSUMPTIONS },
      coldStart,
      endToEnd,
      durationSeconds: Math.round((Date.now() - started) / 1000),
    };
    writeFileSync(join(__dirname, 'results.json'), `${JSON.stringify(results, roundReplacer, 2)}\n`);
    writeFileSync(join(__dirname, 'results.svg'), chart(results));
    console.log(table(results));
    console.log(JSON.stringify(results, roundReplacer));
  } finally {
    await aws.close();
  }
}

/** The stack as `npm start` runs it, in a copy of the checkout: the default queue (1 s batching window), then the high one (none). */
async function benchEndToEnd(count: number): Promise<Record<'default' | 'high', LoadReport>> {
  const checkout = copyCheckout();
  const stack = await startStack(checkout.dir, { LOCAL_DIR: `${checkout.dir}/.local`, LOCAL_FRESH: '1', POWERTOOLS_LOG_LEVEL: 'WARN', POWERTOOLS_METRICS_DISABLED: 'true' });
  try {
    const options = { count, inFlight: 20, flakyShare: 0, timeoutMs: 300_000 };
    return {
      default: await runLoad(stack, { ...options, priority: 'default' }),
      high: await runLoad(stack, { ...options, priority: 'high' }),
    };
  } finally {
    stack.signal('SIGKILL');
    await stack.exited;
    checkout.remove();
  }
}

type Results = {
  coldStart: Awaited<ReturnType<typeof benchColdStart>>;
  endToEnd: Awaited<ReturnType<typeof benchEndToEnd>>;
  enqueue: Awaited<ReturnType<typeof benchEnqueue>>;
  worker: Awaited<ReturnType<typeof benchWorker>>;
  requests: Record<string, Awaited<ReturnType<typeof countRequests>>>;
  cost: { perMillionTasksUsd: Record<string, ReturnType<typeof costPerMillion>> };
};

function table(r: Results): string {
  const rows: Array<[string, string, string, string]> = [
    ['figure', 'ours', 'floor', 'ratio (goal ≤ 1.15)'],
    ['enqueue p50 (ms)', fmt(r.enqueue.ours.p50), fmt(r.enqueue.floor.p50), fmt(r.enqueue.ratioP50)],
    ['enqueue p95 (ms)', fmt(r.enqueue.ours.p95), fmt(r.enqueue.floor.p95), fmt(r.enqueue.ratioP95)],
    ['enqueue p99 (ms)', fmt(r.enqueue.ours.p99), fmt(r.enqueue.floor.p99), fmt(r.enqueue.ratioP99)],
    ['worker, batch of 10 no-ops (ms)', fmt(r.worker.oursMs), fmt(r.worker.floorMs), fmt(r.worker.ratio)],
    ['  vs the record writes it must make (ms)', fmt(r.worker.oursMs), fmt(r.worker.recordFloorMs), fmt(r.worker.ratioToRecordFloor)],
    ['worker, 10 × wait 100 ms (ms)', fmt(r.worker.tenWaits100Ms), '100', fmt(r.worker.tenWaits100Ms / 100)],
  ];
  for (const name of ['api', 'worker'] as const) {
    const c = r.coldStart[name];
    rows.push([`cold start ${name}: bundle KB (gzip)`, `${fmt(c.bytes / 1024)} (${fmt(c.gzipBytes / 1024)})`, `${fmt(r.coldStart.baseline.bytes / 1024)} (${fmt(r.coldStart.baseline.gzipBytes / 1024)})`, `${fmt(c.ratios.bytes)} (goal ≤ 1.3)`]);
    rows.push([`cold start ${name}: require / ready (ms)`, `${fmt(c.requireMs)} / ${fmt(c.readyMs)}`, `${fmt(r.coldStart.baseline.requireMs)} / ${fmt(r.coldStart.baseline.readyMs)}`, `${fmt(c.ratios.requireMs)} / ${fmt(c.ratios.readyMs)}`]);
  }
  for (const [queue, e] of Object.entries(r.endToEnd)) {
    rows.push([`npm start, ${e.accepted} tasks, ${queue} queue: tasks/s, p50 / p99 to SUCCEEDED (ms)`, `${fmt(e.tasksPerSecond)}/s, ${e.timeToTerminalMs.p50} / ${e.timeToTerminalMs.p99}`, '', e.lost === 0 ? '0 lost' : `${e.lost} LOST`]);
  }
  for (const [mode, q] of Object.entries(r.requests)) {
    rows.push([`${mode}: SQS sends / DynamoDB writes / reads per task`, `${fmt(q.sqsSendsPerTask)} / ${fmt(q.dynamodbWriteRequestsPerTask)} / ${fmt(q.dynamodbReadRequestsPerTask)}`, '≤ 1 / ≤ 3', '']);
  }
  for (const [mode, c] of Object.entries(r.cost.perMillionTasksUsd)) {
    rows.push([`${mode}: USD per million tasks`, `$${fmt(c.total)}`, `api $${fmt(c.httpApi)} λ $${fmt(c.lambda)} sqs $${fmt(c.sqs)} ddb $${fmt(c.dynamodb)}`, '']);
  }
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row, i) => row.map((cell, j) => cell.padEnd(widths[j]!)).join('  ') + (i === 0 ? `\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : '')).join('\n');
}

function chart(r: Results): string {
  return barChart('Background tasks: overhead against the floor (local servers)', [
    {
      heading: 'Ratio to floor (dashed: goal 1.15)',
      bars: [
        { label: 'enqueue p50', value: round(r.enqueue.ratioP50), marker: 1.15, unit: '×' },
        { label: 'enqueue p99', value: round(r.enqueue.ratioP99), marker: 1.15, unit: '×' },
        { label: 'worker batch of 10 (bare writes)', value: round(r.worker.ratio), marker: 1.15, unit: '×' },
        { label: 'worker batch of 10 (record writes)', value: round(r.worker.ratioToRecordFloor), marker: 1.15, unit: '×' },
      ],
    },
    {
      heading: 'Cold start: ratio to a bundle of the two SDK clients (dashed: goal 1.3)',
      bars: (['api', 'worker'] as const).flatMap((name) => [
        { label: `${name} bundle size`, value: round(r.coldStart[name].ratios.bytes), marker: 1.3, unit: '×' },
        { label: `${name} require time`, value: round(r.coldStart[name].ratios.requireMs), marker: 1.3, unit: '×' },
      ]),
    },
    {
      heading: 'USD per million tasks (AWS prices, counted requests)',
      bars: Object.entries(r.cost.perMillionTasksUsd).map(([mode, c]) => ({ label: mode, value: round(c.total), unit: ' $' })),
    },
  ]);
}

function fmt(x: number): string {
  return String(round(x));
}

function roundReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isInteger(value) ? Number(value.toPrecision(4)) : value;
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
