import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_KEY } from '../test/support/api';
import { API_KEY, copyCheckout, freePorts, startStack } from '../test/support/stack';
import { driveSeed, getJson, type SeedReport, type SeedTarget } from './seedLoad';

/**
 * The seed's route on four systems, driven by the same client
 * (bench/seedLoad.ts): the seed's FastAPI app with BackgroundTasks (one
 * process, the work after each response), the same endpoint handing the work
 * to Celery with Redis, the floor under `npm start` (bench/seedFloor.ts), and
 * `npm start`. Python, FastAPI, uvicorn, Celery and Redis come from Debian's
 * packages, installed here when absent if this runs as root; otherwise the
 * comparison says how to install them and runs our two alone.
 */
const SEED_DIR = join(__dirname, 'seed');
const PYTHON = '/usr/bin/python3';
const DEBIAN_PACKAGES = ['python3-fastapi', 'python3-uvicorn', 'python3-celery', 'python3-redis', 'redis-server'];

export interface Comparison {
  count: number;
  inFlight: number;
  /** Requests each system served before the measured ones (connections, JIT, caches, workers started). */
  warmUp: number;
  systems: SeedReport[];
  /** Each system's throughput and accept p50 against ours: above 1 where it is faster. */
  ratios: { name: string; tasksPerSecond: number; acceptP50: number }[];
  /** Why the Python systems were left out, when they were. */
  skipped?: string;
}

export async function compareSeed(options: { count: number; inFlight: number; warmUp: number }): Promise<Comparison> {
  const measure = async (target: SeedTarget) => {
    await driveSeed(target, { ...options, count: options.warmUp });
    return driveSeed(target, options);
  };
  const systems: SeedReport[] = [];
  const missing = ensurePythonSystems();
  if (!missing) {
    systems.push(await withProcesses(await fastApi(), measure));
    systems.push(await withProcesses(await celeryRedis(), measure));
  }
  systems.push(await withProcesses(await seedFloor(), measure));
  systems.push(await ours(measure));
  const mine = systems.at(-1)!;
  const ratios = systems.slice(0, -1).map((s) => ({ name: s.name, tasksPerSecond: s.tasksPerSecond / mine.tasksPerSecond, acceptP50: mine.acceptMs.p50 / s.acceptMs.p50 }));
  return { ...options, systems, ratios, ...(missing ? { skipped: missing } : {}) };
}

/** The comparison as rows for the bench's table: system, tasks/s, accept p50 / p95, ours against it. */
export function comparisonRows(c: Comparison): Array<[string, string, string, string]> {
  const rows: Array<[string, string, string, string]> = c.systems.map((s) => {
    const ratio = c.ratios.find((r) => r.name === s.name);
    return [
      `seed route, ${s.name}: tasks/s, accept p50 / p95 (ms), CPU per task`,
      `${s.tasksPerSecond.toFixed(0)}/s, ${s.acceptMs.p50.toFixed(0)} / ${s.acceptMs.p95.toFixed(0)}${s.cpuMsPerTask === undefined ? '' : `, CPU ${s.cpuMsPerTask.toFixed(1)} ms/task`}`,
      '',
      ratio ? `${ratio.tasksPerSecond.toFixed(1)}× our tasks/s, ${ratio.acceptP50.toFixed(1)}× faster p50` : `${c.count} POSTs, ${c.inFlight} in flight`,
    ];
  });
  if (c.skipped) rows.push(['seed route, FastAPI and Celery', 'skipped', '', c.skipped]);
  return rows;
}

/** Installs the Python systems' Debian packages if they are absent and this may; returns why not, or undefined when all is there. */
function ensurePythonSystems(): string | undefined {
  const present = () => {
    try {
      execFileSync(PYTHON, ['-c', 'import fastapi, uvicorn, celery, redis'], { stdio: 'ignore' });
      execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (present()) return undefined;
  const how = `apt-get install -y ${DEBIAN_PACKAGES.join(' ')}`;
  if (process.getuid?.() !== 0) return `the FastAPI and Celery systems need Debian's packages: run \`sudo ${how}\``;
  process.stderr.write(`installing ${DEBIAN_PACKAGES.join(', ')} from Debian's packages ...\n`);
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', ...DEBIAN_PACKAGES], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch {
    return `could not install Debian's packages: run \`${how}\``;
  }
  return present() ? undefined : `Debian's packages did not provide them: run \`${how}\``;
}

interface Running {
  target: SeedTarget;
  processes: ChildProcess[];
  /** Run once the processes have exited. */
  cleanup?: () => void;
}

async function withProcesses<T>(running: Running, run: (target: SeedTarget) => Promise<T>): Promise<T> {
  try {
    return await run({ ...running.target, pids: running.processes.map((p) => p.pid!) });
  } finally {
    await Promise.all(running.processes.map(killed));
    running.cleanup?.();
  }
}

function killed(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  p.kill('SIGKILL');
  return exited;
}

async function fastApi(): Promise<Running> {
  const [port] = await freePorts(1);
  const server = spawnQuiet(PYTHON, ['-m', 'uvicorn', 'fastapi_app:app', '--port', String(port), '--log-level', 'warning', '--no-access-log']);
  await waitForPort(port!);
  const baseUrl = `http://127.0.0.1:${port}`;
  return { processes: [server], target: { name: 'FastAPI BackgroundTasks', baseUrl, finished: async () => (await getJson<{ finished: number }>(`${baseUrl}/stats`)).finished } };
}

async function celeryRedis(): Promise<Running> {
  const [redisPort, port] = await freePorts(2);
  const redis = spawnQuiet('redis-server', ['--port', String(redisPort), '--save', '', '--appendonly', 'no']);
  await waitForPort(redisPort!);
  const env = { REDIS_URL: `redis://127.0.0.1:${redisPort}/0` };
  // One worker process per core, as Celery's default would pick on this machine.
  const worker = spawnQuiet(PYTHON, ['-m', 'celery', '-A', 'celery_app:celery', 'worker', '--concurrency', '2', '--loglevel', 'warning'], env);
  const server = spawnQuiet(PYTHON, ['-m', 'uvicorn', 'celery_app:app', '--port', String(port), '--log-level', 'warning', '--no-access-log'], env);
  await waitForPort(port!);
  const baseUrl = `http://127.0.0.1:${port}`;
  return { processes: [server, worker, redis], target: { name: 'Celery + Redis', baseUrl, finished: async () => (await getJson<{ finished: number }>(`${baseUrl}/stats`)).finished } };
}

/**
 * npm start's handlers, SDK calls and emulators without its Lambda and API
 * Gateway emulation (bench/seedFloor.ts): what `npm start` could reach here
 * if serverless-offline cost nothing.
 */
async function seedFloor(): Promise<Running> {
  const dataDir = mkdtempSync(join(tmpdir(), 'seed-floor-'));
  // The emulators' process exits with its parent; their LevelDB files go once it has.
  const cleanup = () => rmSync(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  // From the checkout, where tsx resolves; stdin a pipe, which closes if this process dies, and the floor with it.
  const server = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'seedFloor.ts'), dataDir], {
    cwd: join(__dirname, '..'),
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'INFO', POWERTOOLS_METRICS_DISABLED: 'true' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const baseUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const ready = /^ready (\S+)$/m.exec(out);
      if (ready) resolve(ready[1]!);
      // The task log lines that follow are read and dropped, so the pipe never fills.
      if (out.length > 4096) out = out.slice(-256);
    });
    server.once('exit', (code) => reject(new Error(`bench/seedFloor.ts exited (${code}) before it served`)));
    setTimeout(() => reject(new Error('bench/seedFloor.ts did not serve within 60 s')), 60_000).unref();
  }).catch(async (error: unknown) => {
    await killed(server);
    cleanup();
    throw error;
  });
  const headers = { 'x-api-key': TEST_KEY };
  const finished = async () => (await getJson<{ totals: { succeeded: number } }>(`${baseUrl}/stats`, headers)).totals.succeeded;
  return { processes: [server], cleanup, target: { name: 'npm start without Lambda emulation (floor)', baseUrl, headers, finished } };
}

/** `npm start` in a copy of the checkout, with its defaults (log level included), as a new user runs it. */
async function ours(measure: (target: SeedTarget) => Promise<SeedReport>): Promise<SeedReport> {
  const checkout = copyCheckout();
  // The test run's own settings (a silent log) stay out of it.
  const stack = await startStack(checkout.dir, { LOCAL_DIR: `${checkout.dir}/.local`, LOCAL_FRESH: '1', POWERTOOLS_LOG_LEVEL: 'INFO' });
  try {
    const headers = { 'x-api-key': API_KEY };
    const finished = async () => (await getJson<{ totals: { succeeded: number } }>(`${stack.url}/stats`, headers)).totals.succeeded;
    return await measure({ name: 'npm start', baseUrl: stack.url, headers, finished, pids: [stack.pid] });
  } finally {
    stack.signal('SIGKILL');
    await stack.exited;
    checkout.remove();
  }
}

function spawnQuiet(command: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(command, args, { cwd: SEED_DIR, env: { ...process.env, ...env }, stdio: 'ignore' });
}

async function waitForPort(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection(port, '127.0.0.1');
      socket.once('connect', () => resolve(socket.end() !== undefined));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
}

// `npx tsx bench/compare.ts [count]`: the comparison alone.
if (require.main === module) {
  const count = Number(process.argv[2] ?? 1_000);
  compareSeed({ count, inFlight: 20, warmUp: Math.min(200, count) })
    .then((c) => {
      for (const row of comparisonRows(c)) console.log(row.filter(Boolean).join('  '));
      console.log(JSON.stringify(c));
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
