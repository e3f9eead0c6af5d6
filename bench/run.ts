/**
 * `npm run bench`: what each task costs, measured beside its floor in the same
 * run. Prints a table, writes bench/results.json and bench/results.svg.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import '../lib/tasks';
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
  // Task logs would measure stdout, not the engine: warnings and errors only.
  aws.engine.logger = new Logger({ serviceName: 'bench', logLevel: 'WARN' });
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
    const results = {
      date: new Date().toISOString(),
      machine: { node: process.version, cpus: (await import('node:os')).cpus().length },
      note: 'Latencies are against local dynalite and local-aws-sqs on loopback: they show overhead relative to the floor, not AWS latency.',
      enqueue: { ...enqueue, goal: 1.15 },
      worker: { ...worker, goal: 1.15 },
      requests,
      cost: { perMillionTasksUsd: cost, prices: PRICES, assumptions: ASSUMPTIONS },
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

type Results = {
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
