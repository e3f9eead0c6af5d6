/**
 * Cold-start weight of the Lambda bundles, beside their floor: a bundle that
 * only constructs the SQS and DynamoDB clients. Each entry is built the way
 * serverless-esbuild builds it (the options in serverless.yml's
 * custom.esbuild, with the same plugins and excluded packages), then
 * required in fresh Node processes, the entries interleaved round by round so
 * that machine noise falls on all of them alike.
 *
 * `npx tsx bench/coldStart.ts [--runs N] [--tracing] [--cpu]` prints a table
 * and the JSON; `benchColdStart()` returns the same figures. `--tracing`
 * builds and runs the handlers as a stage with tracing on does (the
 * OpenTelemetry SDK bundled and set up: docs/tracing.md); the floor stays the
 * same. `--cpu` times with the process's CPU time instead of the wall clock:
 * on a machine busy with other work, wall times wander by half, CPU times far less.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import yaml from 'js-yaml';
import { median } from './stats';

const ROOT = resolve(__dirname, '..');

/** The bound: handler bundles within 1.3x the floor in size and initialisation time. */
export const COLD_START_GOAL = 1.3;

export interface BundleFigures {
  bytes: number;
  /** Compressed (gzip -9, as the deployment zip deflates it): what Lambda downloads on a cold start. */
  gzipBytes: number;
  /** Median time to require the bundle in a fresh process (module initialisation only). */
  requireMs: number;
  /** Median time to require it and build what the first event needs (the engine's clients and config). */
  readyMs: number;
}

export interface ColdStartResults {
  runs: number;
  node: string;
  /** esbuild's mainFields for every entry, the floor included. */
  mainFields: string[];
  baseline: BundleFigures;
  api: BundleFigures & { ratios: Ratios };
  worker: BundleFigures & { ratios: Ratios };
  goal: number;
  /** Whether the handlers were built and run with tracing on. */
  tracing: boolean;
  /** What the times are: wall-clock time, or the process's CPU time (user + system). */
  clock: Clock;
}

export type Clock = 'wall' | 'cpu';

interface Ratios {
  bytes: number;
  gzipBytes: number;
  requireMs: number;
  readyMs: number;
}

/**
 * What each entry is. `ready` is the code run after the require, so that a
 * handler (whose engine is built on its first event) and the baseline (which
 * builds its clients at import) are compared doing the same work.
 */
const ENTRIES = {
  baseline: {
    source: `
      import { SQSClient } from '@aws-sdk/client-sqs';
      import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
      import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
      export const sqs = new SQSClient({});
      export const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({}));
      export const ready = () => undefined;`,
  },
  api: {
    source: `
      export { handler } from './functions/api';
      import { getDefaultEngine } from './lib/engine';
      export const ready = () => getDefaultEngine();`,
  },
  worker: {
    source: `
      export { handler } from './functions/worker';
      import { getDefaultEngine } from './lib/engine';
      export const ready = () => getDefaultEngine();`,
  },
} as const;
type EntryName = keyof typeof ENTRIES;

/** The environment a deployed function has (values are placeholders: nothing is called). */
const LAMBDA_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  STAGE: 'bench',
  TABLE_NAME: 'bench-tasks',
  QUEUE_URL_HIGH: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench-high',
  QUEUE_URL_DEFAULT: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench-default',
  POWERTOOLS_SERVICE_NAME: 'bench',
  POWERTOOLS_METRICS_NAMESPACE: 'bench',
};

/** What a stage with tracing on adds to a function's environment (Lambda sets the daemon's address under active tracing). */
const TRACING_ENV = { TRACING: 'xray', AWS_LAMBDA_FUNCTION_NAME: 'bench', AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000' };

/** esbuild options as serverless-esbuild derives them from serverless.yml, for a stage with tracing off (or on). */
export function serverlessEsbuildOptions(tracing = false): BuildOptions {
  const schema = yaml.DEFAULT_SCHEMA.extend(
    ['Ref', 'GetAtt', 'Join', 'If', 'Not', 'Equals', 'Sub', 'Select', 'Split'].flatMap((tag) =>
      (['scalar', 'sequence', 'mapping'] as const).map((kind) => new yaml.Type(`!${tag}`, { kind, construct: (data: unknown) => ({ [tag]: data }) })),
    ),
  );
  const config = yaml.load(readFileSync(join(ROOT, 'serverless.yml'), 'utf8'), { schema }) as {
    custom: {
      esbuild: { minify?: boolean; sourcemap?: boolean; target?: string; platform?: 'node'; format?: 'cjs'; mainFields?: string[]; exclude?: string[]; plugins?: string };
    };
  };
  const o = config.custom.esbuild;
  // serverless-esbuild takes an array, or a function of the Serverless instance (ours: lib/build/esbuildPlugins.cjs).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = o.plugins ? (require(join(ROOT, o.plugins)) as Plugin[] | ((serverless: unknown, options: { tracing: boolean }) => Plugin[])) : [];
  const plugins = typeof loaded === 'function' ? loaded(undefined, { tracing }) : loaded;
  return {
    bundle: true,
    minify: o.minify ?? false,
    sourcemap: o.sourcemap ?? false,
    target: o.target ?? 'node24',
    platform: o.platform ?? 'node',
    format: o.format ?? 'cjs',
    ...(o.mainFields ? { mainFields: o.mainFields } : {}),
    external: o.exclude ?? [],
    plugins,
    logLevel: 'silent',
  };
}

async function bundle(name: EntryName, outdir: string, withReady: boolean, options: BuildOptions): Promise<string> {
  const outfile = join(outdir, `${name}${withReady ? '.ready' : ''}.js`);
  const source = withReady
    ? ENTRIES[name].source
    : // The deployed handler bundle itself: functions/<name>.ts as the entry point.
      name === 'baseline'
      ? ENTRIES.baseline.source
      : `export { handler } from './functions/${name}';`;
  await build({ ...options, stdin: { contents: source, resolveDir: ROOT, loader: 'ts', sourcefile: `${name}.ts` }, outfile });
  return outfile;
}

/** Milliseconds to require `file` (and run its `ready`) in a fresh Node process, by `clock`. */
function timeInFreshProcess(file: string, runReady: boolean, env: Record<string, string>, clock: Clock = 'wall'): number {
  const [start, elapsed] =
    clock === 'cpu' ? ['process.cpuUsage()', '(({user,system})=>(user+system)/1e3)(process.cpuUsage(t))'] : ['process.hrtime.bigint()', 'Number(process.hrtime.bigint()-t)/1e6'];
  const script = `const t=${start};const m=require(${JSON.stringify(file)});${runReady ? 'm.ready();' : ''}process.stdout.write(String(${elapsed}));`;
  const out = spawnSync(process.execPath, ['--no-warnings', '-e', script], { env: { ...env, PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`require ${file} failed: ${out.stderr}`);
  return Number(out.stdout);
}

/**
 * Builds the three entries and measures their size and initialisation time,
 * `runs` rounds interleaved. `mainFields` replaces serverless.yml's for every
 * entry alike (to compare bundlings); by default, the bundles as deployed.
 * With `tracing`, the handlers are built and run as on a stage with tracing
 * on; the baseline is the same floor either way.
 */
export async function benchColdStart(runs = 15, mainFields?: string[], tracing = false, clock: Clock = 'wall'): Promise<ColdStartResults> {
  const base = serverlessEsbuildOptions(tracing);
  const options: BuildOptions = { ...base, ...(mainFields ? { mainFields } : {}) };
  const envOf = (n: EntryName): Record<string, string> => (tracing && n !== 'baseline' ? { ...LAMBDA_ENV, ...TRACING_ENV } : LAMBDA_ENV);
  const outdir = mkdtempSync(join(tmpdir(), 'cold-start-'));
  try {
    const names = Object.keys(ENTRIES) as EntryName[];
    const files = Object.fromEntries(
      await Promise.all(
        names.map(async (n) => [n, { plain: await bundle(n, outdir, false, options), ready: await bundle(n, outdir, true, options) }] as const),
      ),
    ) as Record<EntryName, { plain: string; ready: string }>;
    const samples = Object.fromEntries(names.map((n) => [n, { requireMs: [] as number[], readyMs: [] as number[] }])) as Record<
      EntryName,
      { requireMs: number[]; readyMs: number[] }
    >;
    for (const n of names) timeInFreshProcess(files[n].plain, false, envOf(n)); // warm the file cache
    for (let i = 0; i < runs; i++) {
      for (const n of names) {
        samples[n].requireMs.push(timeInFreshProcess(files[n].plain, false, envOf(n), clock));
        samples[n].readyMs.push(timeInFreshProcess(files[n].ready, true, envOf(n), clock));
      }
    }
    const figures = (n: EntryName): BundleFigures => ({
      bytes: statSync(files[n].plain).size,
      gzipBytes: gzipSync(readFileSync(files[n].plain), { level: 9 }).length,
      requireMs: median(samples[n].requireMs),
      readyMs: median(samples[n].readyMs),
    });
    const baseline = figures('baseline');
    const withRatios = (f: BundleFigures) => ({
      ...f,
      ratios: { bytes: f.bytes / baseline.bytes, gzipBytes: f.gzipBytes / baseline.gzipBytes, requireMs: f.requireMs / baseline.requireMs, readyMs: f.readyMs / baseline.readyMs },
    });
    // esbuild's own default for platform node, when serverless.yml sets none.
    const usedMainFields = options.mainFields ?? ['main', 'module'];
    return { runs, node: process.version, mainFields: usedMainFields, baseline, api: withRatios(figures('api')), worker: withRatios(figures('worker')), goal: COLD_START_GOAL, tracing, clock };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function table(r: ColdStartResults): string {
  const row = (name: string, f: BundleFigures, ratios?: Ratios) =>
    [
      name.padEnd(9),
      `${(f.bytes / 1024).toFixed(0)} KB`.padStart(8),
      (ratios ? `${ratios.bytes.toFixed(2)}x` : '').padStart(7),
      `${(f.gzipBytes / 1024).toFixed(0)} KB`.padStart(8),
      (ratios ? `${ratios.gzipBytes.toFixed(2)}x` : '').padStart(7),
      `${f.requireMs.toFixed(1)} ms`.padStart(10),
      (ratios ? `${ratios.requireMs.toFixed(2)}x` : '').padStart(7),
      `${f.readyMs.toFixed(1)} ms`.padStart(10),
      (ratios ? `${ratios.readyMs.toFixed(2)}x` : '').padStart(7),
    ].join(' ');
  return [
    `cold start${r.tracing ? ' with tracing on' : ''}, mainFields ${r.mainFields.join(',')}, median of ${r.runs} fresh processes (${r.node}${r.clock === 'cpu' ? ', CPU time' : ''}); goal: within ${r.goal}x the baseline`,
    `${'bundle'.padEnd(9)} ${'size'.padStart(8)} ${''.padStart(7)} ${'gzipped'.padStart(8)} ${''.padStart(7)} ${'require'.padStart(10)} ${''.padStart(7)} ${'ready'.padStart(10)} ${''.padStart(7)}`,
    row('baseline', r.baseline),
    row('api', r.api, r.api.ratios),
    row('worker', r.worker, r.worker.ratios),
  ].join('\n');
}

if (require.main === module) {
  const at = process.argv.indexOf('--runs');
  const runs = at > 0 ? Number(process.argv[at + 1]) : 15;
  const tracing = process.argv.includes('--tracing');
  const clock: Clock = process.argv.includes('--cpu') ? 'cpu' : 'wall';
  // As deployed, then (for comparison) with CommonJS builds first, esbuild's
  // default: the floor is bigger there, so the ratios are smaller, but every
  // bundle is slower.
  (async () => {
    const asDeployed = await benchColdStart(runs, undefined, tracing, clock);
    const commonJsFirst = await benchColdStart(runs, ['main', 'module'], tracing, clock);
    console.log(`${table(asDeployed)}\n\n${table(commonJsFirst)}`);
    console.log(JSON.stringify({ asDeployed, commonJsFirst }));
  })()
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
