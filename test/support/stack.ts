import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');
export const API_KEY = 'local-dev-key';

/** A copy of the checkout, so the stack's .esbuild and .local never meet another test's. */
export function copyCheckout(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'stack-'));
  for (const entry of ['serverless.yml', 'package.json', 'package-lock.json', 'tsconfig.json', 'functions', 'lib']) {
    cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** A JSON response body: a task record, an acceptance or an error. */
export interface Body {
  taskId: string;
  status: string;
  attempts: number;
  message?: string;
  [key: string]: unknown;
}

/** `npm start` as a user runs it, in its own process group (a terminal's Ctrl+C reaches the whole group). */
export interface Stack {
  url: string;
  /** The process `npm start` (or `command`) runs as; the stack is it and what it starts. */
  pid: number;
  ports: { http: number; lambda: number; sqs: number; dynamo: number; s3: number };
  output(): string;
  /** Resolves with the exit code (or the signal) once npm and the stack have exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once every process holding the stack's output has exited (npm may exit before the server). */
  closed: Promise<void>;
  /** Signals the whole process group, as a terminal does. */
  signal(signal: NodeJS.Signals): void;
  /** Signals the serverless process itself, as a process manager stopping the server does; npm then exits with its code. */
  signalServer(signal: NodeJS.Signals): void;
  /** Signals npm alone, as a process manager stopping `npm start` does. */
  signalNpm(signal: NodeJS.Signals): void;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: Body }>;
}

/**
 * Starts the stack in `cwd`: `npm start`, or `command` (the same server run
 * another way, e.g. under `node --cpu-prof`, which NODE_OPTIONS refuses).
 */
export async function startStack(cwd: string, env: Record<string, string> = {}, options: { waitReady?: boolean; command?: [string, ...string[]] } = {}): Promise<Stack> {
  const [http, lambda, sqs, dynamo, s3] = await freePorts(5);
  const ports = { http: http!, lambda: lambda!, sqs: sqs!, dynamo: dynamo!, s3: s3! };
  const [command, ...args] = options.command ?? ['npm', 'start'];
  const child: ChildProcess = spawn(command, args, {
    cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      // The tests' own logger settings (vitest.config.mts) are not a user's: the stack logs as deployed, one line each.
      POWERTOOLS_DEV: undefined,
      PORT: String(ports.http),
      LAMBDA_PORT: String(ports.lambda),
      SQS_PORT: String(ports.sqs),
      DYNAMODB_PORT: String(ports.dynamo),
      S3_PORT: String(ports.s3),
      SLS_TELEMETRY_DISABLED: '1',
      ...env,
    },
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const closed = Promise.all([
    new Promise((resolve) => child.stdout!.on('close', resolve)),
    new Promise((resolve) => child.stderr!.on('close', resolve)),
  ]).then(() => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const url = `http://localhost:${ports.http}`;
  const stack: Stack = {
    url,
    pid: child.pid!,
    ports,
    output: () => output,
    exited,
    closed,
    signal: (signal) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
    },
    signalServer: (signal) => {
      const ps = execFileSync('ps', ['-o', 'pid=,args=', '-g', String(child.pid)], { encoding: 'utf8' });
      const line = ps.split('\n').find((l) => /node .*serverless(\.js)? offline start/.test(l));
      if (!line) throw new Error(`no serverless process in the group:\n${ps}`);
      process.kill(Number(line.trim().split(/\s+/)[0]), signal);
    },
    signalNpm: (signal) => child.kill(signal),
    async request(method, path, body, headers = { 'x-api-key': API_KEY }) {
      const response = await fetch(url + path, {
        method,
        headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: (text ? JSON.parse(text) : {}) as Body };
    },
  };
  if (options.waitReady === false) return stack;
  const ready = await Promise.race([
    (async () => {
      while (!output.includes('local stack ready')) await new Promise((r) => setTimeout(r, 100));
      return true;
    })(),
    exited.then(() => false),
    new Promise<false>((r) => setTimeout(() => r(false), 120_000)),
  ]);
  if (!ready) {
    stack.signal('SIGKILL');
    throw new Error(`npm start did not become ready:\n${output.slice(-3000)}`);
  }
  return stack;
}

/** Polls a task until it is in one of `statuses`; returns its record. */
export async function waitForStatus(stack: Stack, taskId: string, statuses: readonly string[], timeoutMs = 30_000): Promise<Body> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status, body } = await stack.request('GET', `/tasks/${taskId}`);
    if (status === 200 && statuses.includes(body.status)) return body;
    if (Date.now() > deadline) throw new Error(`task ${taskId} is ${body?.status ?? status}, not ${statuses.join('/')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
