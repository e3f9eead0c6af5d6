import { accessSync, constants, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import dynalite from 'dynalite';
import { createRequestHandler } from 'local-aws-sqs';
import { LocalStartupError, listenError } from './errors';

/** A server this process started, or one it was pointed at. */
export interface Endpoint {
  url: string;
  embedded: boolean;
  close(): Promise<void>;
}

/**
 * SQS at `override` (AWS_ENDPOINT_URL_SQS), or an embedded local-aws-sqs.
 * Its queues live in memory: the recovery sweep covers what a restart loses.
 */
export async function sqsEndpoint(options: { override?: string; host: string; port: number; region: string }): Promise<Endpoint> {
  if (options.override) return external(options.override);
  // Our own http.Server around its handler: createSqsServer leaves a failed listen unhandled.
  const { requestHandler, service } = createRequestHandler({
    port: options.port,
    hostname: options.host,
    region: options.region,
    emulateQueueCreationLifecycle: false,
  });
  const server = createServer((req, res) => void requestHandler(req, res));
  await listen(server, options.port, options.host, 'embedded SQS', 'SQS_PORT');
  service.PORT = options.port;
  return embedded(server, `http://${options.host}:${options.port}`);
}

/** DynamoDB at `override` (AWS_ENDPOINT_URL_DYNAMODB), or an embedded dynalite persisted under `dataDir`. */
export async function dynamoEndpoint(options: { override?: string; host: string; port: number; dataDir: string; fresh: boolean }): Promise<Endpoint> {
  if (options.override) return external(options.override);
  const path = join(options.dataDir, 'dynamodb');
  if (options.fresh) rmSync(path, { recursive: true, force: true });
  try {
    mkdirSync(path, { recursive: true });
    accessSync(path, constants.W_OK);
  } catch (error) {
    throw new LocalStartupError(
      `Cannot write local state to ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      `make it writable (chmod u+w ${options.dataDir}) or choose another directory with LOCAL_DIR=<dir>`,
      { cause: error },
    );
  }
  const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await listen(server, options.port, options.host, 'embedded DynamoDB', 'DYNAMODB_PORT');
  return embedded(server, `http://${options.host}:${options.port}`);
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
    throw new LocalStartupError(`"${url}" is not a URL`, 'set AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL_DYNAMODB to e.g. http://localhost:8000');
  }
  return { url, embedded: false, close: async () => undefined };
}

function embedded(server: Server, url: string): Endpoint {
  return {
    url,
    embedded: true,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
