/**
 * `npm run bench`: what each task costs, measured beside its floor in the same
 * run. Prints a table, writes bench/results.json and bench/results.svg.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import '../lib/tasks';
import { runLoad, type LoadReport } from '../test/support/load';
import { copyCheckout, startStack } from '../test/support/stack';
import { benchColdStart } from './coldStart';
import { compareSeed, comparisonRows } from './compare';
import { measureControl } from './control';
import { measureWorkflows } from './workflows';
import { ASSUMPTIONS, costPerMillion, measureDashboard, PRICES } from './cost';
import { benchEnqueue, benchWorker } from './enqueueWorker';
import { measurePayloadCost, PAYLOAD_SIZES, STORAGE_PRICES, type PayloadCost } from './payloads';
import { FITS_ONE_UNIT_BYTES, measureTasks, type Mode } from './requests';
import { startBenchAws } from './servers';
import { round } from './stats';
import { barChart } from './svg';

const quick = process.argv.includes('--quick');
/** `npm run bench -- --only control` or `--only payloads`: one part, its figures merged into results.json. */
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;

/** $ per million tasks at 1 KB, 256 KB and 5 MB of payload, with a bucket (S3's requests and storage included). */
async function payloadCosts(aws: Awaited<ReturnType<typeof startBenchAws>>): Promise<PayloadCost[]> {
  log('cost per task by payload size, with a bucket: DynamoDB, S3 requests and storage ...');
  const out: PayloadCost[] = [];
  for (const bytes of PAYLOAD_SIZES) out.push(await measurePayloadCost(aws, bytes, bytes > 1024 * 1024 ? (quick ? 3 : 10) : quick ? 10 : 40));
  return out;
}

function payloadRows(costs: PayloadCost[]): Array<[string, string, string, string]> {
  return costs.map((c) => {
    const u = c.usdPerMillion;
    return [
      `POST /tasks, payload ${fmt(c.payloadBytes / 1024)} KB: USD per million (S3 PUT ${fmt(c.s3.puts)}, GET ${fmt(c.s3.gets)} per task)`,
      `$${fmt(u.total)}`,
      `api $${fmt(u.httpApi)} λ $${fmt(u.lambda)} sqs $${fmt(u.sqs)} ddb $${fmt(u.dynamodb)} + stored $${fmt(u.dynamoStorage)} s3 $${fmt(u.s3Requests)} + stored $${fmt(u.s3Storage)}`,
      `${fmt(c.measured.writeUnits)} write units`,
    ];
  });
}

async function mainPayloadsOnly(): Promise<void> {
  const aws = await startBenchAws();
  aws.metered.logger = new Logger({ serviceName: 'bench', logLevel: 'WARN' });
  aws.metered.metrics = undefined;
  try {
    const costs = await payloadCosts(aws);
    const file = join(__dirname, 'results.json');
    const results = JSON.parse(readFileSync(file, 'utf8')) as { cost: Record<string, unknown> };
    results.cost.byPayloadSizeWithBucket = { date: new Date().toISOString(), sizes: costs, storagePrices: STORAGE_PRICES };
    writeFileSync(file, `${JSON.stringify(results, roundReplacer, 2)}\n`);
    const rows = payloadRows(costs);
    const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
    console.log(rows.map((row) => row.map((cell, j) => cell.padEnd(widths[j]!)).join('  ')).join('\n'));
  } finally {
    await aws.close();
  }
}

async function main(): Promise<void> {
  if (only === 'control') return controlOnly();
  if (only === 'payloads') return mainPayloadsOnly();
  if (only === 'workflows') return workflowsOnly();
  if (only !== undefined) throw new Error(`--only takes: control, payloads, workflows (not "${only}")`);
  const started = Date.now();
  const aws = await startBenchAws();
  // Task logs and EMF lines would measure stdout, not the engine: warnings and errors only, no metrics.
  aws.engine.logger = new Logger({ serviceName: 'bench', logLevel: 'WARN' });
  aws.engine.metrics = undefined;
  // The cost runs fail tasks on purpose (to price a retry): their error lines are expected.
  aws.metered.logger = new Logger({ serviceName: 'bench', logLevel: 'CRITICAL' });
  aws.metered.metrics = undefined;
  try {
    log('enqueue: api handler vs PutItem ∥ SendMessage ...');
    const enqueue = await benchEnqueue(aws, quick ? 3 : 9, quick ? 50 : 200);
    await aws.freshQueues();
    log('worker: batch of 10 vs its unavoidable writes ...');
    const worker = await benchWorker(aws, quick ? 5 : 25);
    log('cost per task: requests at the servers, DynamoDB units by its rules ...');
    const counts: Record<Mode, number> = { single: quick ? 50 : 200, batch: quick ? 100 : 500, withBackgroundTasks: quick ? 50 : 200 };
    const modes = Object.keys(counts) as Mode[];
    const requests: Record<string, Record<Mode, Awaited<ReturnType<typeof measureTasks>>>> = {};
    const cost: Record<string, Record<Mode, ReturnType<typeof costPerMillion>>> = {};
    for (const [label, bytes] of [['payload 1 KB', 1024], [`payload ${FITS_ONE_UNIT_BYTES} B`, FITS_ONE_UNIT_BYTES]] as const) {
      requests[label] = {} as Record<Mode, Awaited<ReturnType<typeof measureTasks>>>;
      cost[label] = {} as Record<Mode, ReturnType<typeof costPerMillion>>;
      for (const mode of modes) {
        requests[label]![mode] = await measureTasks(aws, mode, counts[mode], bytes);
        cost[label]![mode] = costPerMillion(mode, requests[label]![mode]);
      }
    }
    log('write units by payload size, and per retry ...');
    const byPayload = [];
    for (const bytes of [100, 1024, 64 * 1024, 256 * 1024]) {
      const m = await measureTasks(aws, 'single', quick ? 10 : 40, bytes);
      byPayload.push({ payloadBytes: bytes, writeUnits: m.writeUnits, payloadWriteUnits: m.payloadWriteUnits, beyondPayloadWrite: m.writeUnits - m.payloadWriteUnits, byKind: m.writeUnitsByKind, readUnits: m.readUnits });
    }
    const firstTry = await measureTasks(aws, 'batch', quick ? 20 : 100, 100);
    const oneRetry = await measureTasks(aws, 'batch', quick ? 20 : 100, 100, true);
    const retry = { writeUnitsWithoutRetry: firstTry.writeUnits, writeUnitsWithOneRetry: oneRetry.writeUnits, perRetry: oneRetry.writeUnits - firstTry.writeUnits };
    const byPayloadSizeWithBucket = { date: new Date().toISOString(), sizes: await payloadCosts(aws), storagePrices: STORAGE_PRICES };
    log('dashboard: read units per refresh ...');
    const dashboard = await measureDashboard(aws);
    log('control: what progress, cancel, concurrency, rate limits and debounce cost a task ...');
    const control = await measureControl(aws, quick ? 10 : 40);
    log('cold start: handler bundles vs a bundle of the two SDK clients ...');
    const coldStart = await benchColdStart(quick ? 5 : 15);
    log('end to end: tasks through npm start, POST to SUCCEEDED ...');
    const endToEnd = await benchEndToEnd(quick ? 200 : 1_000);
    log('seed route: FastAPI BackgroundTasks, Celery + Redis, the floor under npm start and npm start, one load driver ...');
    const seedRoute = await compareSeed({ count: quick ? 300 : 1_000, inFlight: 20, warmUp: quick ? 50 : 200 });
    const results = {
      date: new Date().toISOString(),
      machine: { node: process.version, cpus: (await import('node:os')).cpus().length },
      note: 'Latencies are against local dynalite and local-aws-sqs on loopback: they show overhead relative to the floor, not AWS latency.',
      enqueue: { ...enqueue, goal: 1.15 },
      worker: { ...worker, goal: 1.15 },
      requests,
      cost: { perMillionTasksUsd: cost, writeUnitsByPayload: byPayload, byPayloadSizeWithBucket, retry, dashboard, prices: PRICES, assumptions: ASSUMPTIONS },
      control,
      coldStart,
      endToEnd,
      seedRoute,
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

/** Measures what a workflow costs beyond its steps (lib/workflows), and puts it into results.json beside the figures of the last full run. */
async function workflowsOnly(): Promise<void> {
  const aws = await startBenchAws();
  for (const e of [aws.engine, aws.metered]) {
    e.logger = new Logger({ serviceName: 'bench', logLevel: 'WARN' });
    e.metrics = undefined;
  }
  try {
    log('workflows: what a chain and a group cost beyond their steps run as tasks ...');
    const workflows = await measureWorkflows(aws, quick ? 10 : 50);
    const file = join(__dirname, 'results.json');
    const results = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, `${JSON.stringify({ ...results, workflows: { ...workflows, date: new Date().toISOString() } }, roundReplacer, 2)}\n`);
    console.log(JSON.stringify(workflows, roundReplacer, 2));
  } finally {
    await aws.close();
  }
}

/** Measures lib/control's costs alone, and puts them into results.json beside the figures of the last full run. */
async function controlOnly(): Promise<void> {
  const aws = await startBenchAws();
  aws.engine.logger = new Logger({ serviceName: 'bench', logLevel: 'WARN' });
  aws.engine.metrics = undefined;
  aws.metered.logger = new Logger({ serviceName: 'bench', logLevel: 'WARN' });
  aws.metered.metrics = undefined;
  try {
    log('control: what progress, cancel, concurrency, rate limits and debounce cost a task ...');
    const control = await measureControl(aws, quick ? 10 : 40);
    const file = join(__dirname, 'results.json');
    const results = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, `${JSON.stringify({ ...results, control: { ...control, date: new Date().toISOString() } }, roundReplacer, 2)}\n`);
    console.log(controlTable(control));
  } finally {
    await aws.close();
  }
}

function controlTable(c: Awaited<ReturnType<typeof measureControl>>): string {
  const rows: Array<[string, string, string]> = [
    ['per task', 'write / read units', 'beyond a task without it'],
    ['no feature (100 B payload)', `${fmt(c.none.writeUnits)} / ${fmt(c.none.readUnits)}`, '0 / 0'],
  ];
  for (const [name, f] of Object.entries(c.features)) rows.push([name, `${fmt(f.writeUnits)} / ${fmt(f.readUnits)}`, `${fmt(f.extraWriteUnits)} / ${fmt(f.extraReadUnits)}`]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, j) => cell.padEnd(widths[j]!)).join('  ')).join('\n');
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
  control: Awaited<ReturnType<typeof measureControl>>;
  coldStart: Awaited<ReturnType<typeof benchColdStart>>;
  endToEnd: Awaited<ReturnType<typeof benchEndToEnd>>;
  seedRoute: Awaited<ReturnType<typeof compareSeed>>;
  enqueue: Awaited<ReturnType<typeof benchEnqueue>>;
  worker: Awaited<ReturnType<typeof benchWorker>>;
  requests: Record<string, Record<Mode, Awaited<ReturnType<typeof measureTasks>>>>;
  cost: {
    perMillionTasksUsd: Record<string, Record<Mode, ReturnType<typeof costPerMillion>>>;
    writeUnitsByPayload: Array<{ payloadBytes: number; writeUnits: number; payloadWriteUnits: number; beyondPayloadWrite: number }>;
    retry: { perRetry: number };
    byPayloadSizeWithBucket: { sizes: PayloadCost[] };
    dashboard: Awaited<ReturnType<typeof measureDashboard>>;
  };
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
  rows.push(...comparisonRows(r.seedRoute));
  for (const [label, byMode] of Object.entries(r.requests)) {
    for (const [mode, q] of Object.entries(byMode)) {
      const c = r.cost.perMillionTasksUsd[label]![mode as Mode];
      rows.push([
        `${mode}, ${label}: write / read units, SQS requests per task; USD per million`,
        `${fmt(q.writeUnits)} / ${fmt(q.readUnits)}, ${fmt(q.sqsRequestsPerTask)}; $${fmt(c.total)}`,
        `api $${fmt(c.httpApi)} λ $${fmt(c.lambda)} sqs $${fmt(c.sqs)} ddb $${fmt(c.dynamodb)}`,
        mode === 'single' ? 'goal ≤ $4.50' : 'goal ≤ $3.00',
      ]);
    }
  }
  for (const p of r.cost.writeUnitsByPayload) {
    rows.push([`write units per task, payload ${fmt(p.payloadBytes / 1024)} KB`, `${fmt(p.writeUnits)} = ${fmt(p.payloadWriteUnits)} storing it + ${fmt(p.beyondPayloadWrite)}`, '', 'goal ≤ 4 beyond it']);
  }
  rows.push(['write units per retry', fmt(r.cost.retry.perRetry), '', 'goal ≤ 2']);
  rows.push(...payloadRows(r.cost.byPayloadSizeWithBucket.sizes));
  for (const [name, f] of Object.entries(r.control.features)) {
    rows.push([`control: ${name}, write / read units per task beyond none`, `${fmt(f.extraWriteUnits)} / ${fmt(f.extraReadUnits)}`, '', 'zero when unused']);
  }
  for (const d of r.cost.dashboard) {
    rows.push([`dashboard, +${d.tasksAdded} tasks: read units of /stats, a page, a FAILED page`, `${fmt(d.statsReadUnits)}, ${fmt(d.listPageReadUnits)}, ${fmt(d.failedPageReadUnits)}`, '', '']);
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
      heading: 'USD per million tasks, 1 KB payload (AWS prices, measured units)',
      bars: Object.entries(r.cost.perMillionTasksUsd['payload 1 KB'] ?? {}).map(([mode, c]) => ({ label: mode, value: round(c.total), marker: mode === 'single' ? 4.5 : 3, unit: ' $' })),
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
