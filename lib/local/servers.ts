import { fork, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { LocalStartupError, listenError } from './errors';

/** A server this process started, or one it was pointed at. */
export interface Endpoint {
  url: string;
  embedded: boolean;
  close(): Promise<void>;
}

export interface EndpointOptions {
  host: string;
  region: string;
  sqs: { override?: string; port: number };
  dynamo: { override?: string; port: number; dataDir: string; fresh: boolean };
  /** The S3 server of payloads and results (lib/payloads/s3Server.cjs), its objects beside dynalite's data; `credentials`: the key pair it accepts. */
  s3?: { override?: string; port: number; credentials: Record<string, string> };
}

/**
 * SQS, DynamoDB and S3 for `npm start`: the servers AWS_ENDPOINT_URL_SQS,
 * AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_S3 name, or embedded ones,
 * local-aws-sqs (its queues in memory: the recovery sweep covers what a
 * restart loses), dynalite (persisted under `dataDir`) and this project's S3
 * server (its objects persisted there too, so that a record that names one
 * still finds it), all started in one child process (emulators.cjs), so that
 * they run on the machine's second core.
 */
export async function startEndpoints(options: EndpointOptions): Promise<{ sqs: Endpoint; dynamo: Endpoint; s3?: Endpoint }> {
  const { host } = options;
  const sqsOverride = options.sqs.override;
  const dynamoOverride = options.dynamo.override;
  const s3 = options.s3;
  const s3Embedded = s3 !== undefined && !s3.override;
  let path: string | undefined;
  if (!dynamoOverride) path = dataPath(options.dynamo.dataDir, 'dynamodb', options.dynamo.fresh);
  const child =
    sqsOverride && dynamoOverride && !s3Embedded
      ? undefined
      : await startEmulators({
          ...(sqsOverride ? {} : { sqs: { host, port: options.sqs.port, region: options.region } }),
          ...(dynamoOverride ? {} : { dynamo: { host, port: options.dynamo.port, path } }),
          ...(s3Embedded ? { s3: { host, port: s3.port, directory: dataPath(options.dynamo.dataDir, 's3', options.dynamo.fresh), credentials: s3.credentials } } : {}),
        });
  const stop = child ? once(() => stopEmulators(child)) : async () => undefined;
  return {
    sqs: sqsOverride ? external(sqsOverride) : { url: `http://${host}:${options.sqs.port}`, embedded: true, close: stop },
    dynamo: dynamoOverride ? external(dynamoOverride) : { url: `http://${host}:${options.dynamo.port}`, embedded: true, close: stop },
    ...(s3 ? { s3: s3.override ? external(s3.override) : { url: `http://${host}:${s3.port}`, embedded: true, close: stop } } : {}),
  };
}

/** Where dynalite (or the S3 server) keeps its data: made, emptied when asked, and checked writable, with a fix if it is not. */
function dataPath(dataDir: string, name: string, fresh: boolean): string {
  const path = join(dataDir, name);
  if (fresh) rmSync(path, { recursive: true, force: true });
  try {
    mkdirSync(path, { recursive: true });
    accessSync(path, constants.W_OK);
  } catch (error) {
    throw new LocalStartupError(
      `Cannot write local state to ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      `make it writable (chmod u+w ${dataDir}) or choose another directory with LOCAL_DIR=<dir>`,
      { cause: error },
    );
  }
  return path;
}

type EmulatorStart = {
  sqs?: { host: string; port: number; region: string };
  dynamo?: { host: string; port: number; path?: string };
  s3?: { host: string; port: number; directory: string; credentials: Record<string, string> };
};

const SERVERS = {
  sqs: { what: 'embedded SQS', envName: 'SQS_PORT' },
  dynamo: { what: 'embedded DynamoDB', envName: 'DYNAMODB_PORT' },
  s3: { what: 'embedded S3', envName: 'S3_PORT' },
} as const;

/** Forks emulators.cjs and waits until both servers listen; a server that cannot listen is one line with its fix. */
async function startEmulators(start: EmulatorStart): Promise<ChildProcess> {
  const child = fork(join(__dirname, 'emulators.cjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const answer = await new Promise<{ ready?: true; error?: { server: keyof typeof SERVERS; code?: string; message: string } }>((resolve) => {
    child.once('message', (message) => resolve(message as never));
    child.once('exit', (code) => resolve({ error: { server: start.dynamo ? 'dynamo' : 'sqs', message: `the emulators' process exited (${code})` } }));
    child.send({ start });
  });
  if (answer.ready) return child;
  child.kill('SIGKILL');
  const { server, code, message } = answer.error!;
  const port = start[server]?.port ?? 0;
  throw listenError(SERVERS[server].what, port, SERVERS[server].envName, Object.assign(new Error(message), { code }));
}

async function stopEmulators(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.send({ stop: true });
  // dynalite closes its store on the way out; a child that hangs is not worth waiting for.
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}

/** Fails with a clear cause if something already listens on `port`. */
export async function ensurePortFree(host: string, port: number, what: string, envName: string): Promise<void> {
  const probe = createServer();
  await listen(probe, port, host, what, envName);
  await new Promise((resolve) => probe.close(resolve));
}

/**
 * Fails with a clear cause if a server named by AWS_ENDPOINT_URL_* does not
 * answer `call`; an embedded one was just started and needs no probe.
 */
export async function ensureReachable(
  endpoint: Endpoint,
  what: string,
  envName: string,
  call: (signal: AbortSignal) => Promise<unknown>,
): Promise<void> {
  if (endpoint.embedded) return;
  try {
    await call(AbortSignal.timeout(PROBE_TIMEOUT_MS));
  } catch (error) {
    const err = error as Error & { code?: string; $metadata?: { httpStatusCode?: number } };
    if (err.$metadata?.httpStatusCode !== undefined) {
      throw new LocalStartupError(
        `${what} at ${endpoint.url} refused a request (${err.name}: ${err.message})`,
        `check that ${envName} points at a ${what}-compatible server`,
        { cause: error },
      );
    }
    throw new LocalStartupError(
      `Cannot reach ${what} at ${endpoint.url} (${err.code ?? err.name})`,
      `start that server, or unset ${envName} to use the embedded one`,
      { cause: error },
    );
  }
}

const PROBE_TIMEOUT_MS = 10_000;

function listen(server: Server, port: number, host: string, what: string, envName: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(listenError(what, port, envName, error)));
    server.listen(port, host, () => resolve());
  });
}

function external(url: string): Endpoint {
  try {
    new URL(url);
  } catch {
    throw new LocalStartupError(`"${url}" is not a URL`, 'set AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_S3 to e.g. http://localhost:8000');
  }
  return { url, embedded: false, close: async () => undefined };
}

