import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as z from '../zod';
import { LocalStartupError } from './errors';

const port = (fallback: number) => z.intFromText(fallback, 1, 65535);
const Flag = z.pipe(
  z.enum(['', '0', '1', 'false', 'true']),
  z.transform((v) => v === '1' || v === 'true'),
);

/** Execution environments per function: enough to keep two cores busy, few enough that each one's code warms up. */
const ENVIRONMENTS_PER_FUNCTION = 4;

const LocalEnv = z.object({
  PORT: port(3000),
  LAMBDA_PORT: port(3002),
  SQS_PORT: port(9324),
  DYNAMODB_PORT: port(8000),
  S3_PORT: port(4569),
  LOCAL_DIR: z._default(z.string().check(z.minLength(1)), '.local'),
  LOCAL_FRESH: z._default(Flag, false),
  LOCAL_ENVIRONMENTS: z.intFromText(ENVIRONMENTS_PER_FUNCTION, 1, 1000),
  /** Spans of the api and the worker: `console`, or a file to append OTLP JSON lines to (docs/tracing.md). */
  LOCAL_TRACES: z.optional(z.string()),
  AWS_ENDPOINT_URL_SQS: z.optional(z.url()),
  AWS_ENDPOINT_URL_DYNAMODB: z.optional(z.url()),
  AWS_ENDPOINT_URL_S3: z.optional(z.url()),
});

/** Everything `npm start` can be told, all through the environment. */
export interface LocalOptions {
  host: string;
  httpPort: number;
  lambdaPort: number;
  sqsPort: number;
  dynamoPort: number;
  s3Port: number;
  /** Where dynalite keeps its data, so task records survive a restart. */
  dataDir: string;
  /** Start with no records (LOCAL_FRESH=1). */
  fresh: boolean;
  /** Most execution environments (worker threads) per HTTP function (LOCAL_ENVIRONMENTS); more invocations wait for one. */
  environmentsPerFunction: number;
  sqsEndpoint?: string;
  dynamoEndpoint?: string;
  s3Endpoint?: string;
  /** Where the functions' spans go (LOCAL_TRACES): `console`, or an absolute file path; absent, nowhere. */
  traces?: string;
}

/** Reads and checks the local runtime's variables; a bad value is one line naming the variable and what it accepts. */
export function localOptions(env: NodeJS.ProcessEnv, cwd: string): LocalOptions {
  const parsed = z.safeParse(LocalEnv, env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = issue.path.join('.');
    throw new LocalStartupError(`${name}=${JSON.stringify(env[name])} is not valid (${issue.message})`, `fix or unset ${name}; see docs/running-locally.md`);
  }
  const e = parsed.data;
  return {
    host: '127.0.0.1',
    httpPort: e.PORT,
    lambdaPort: e.LAMBDA_PORT,
    sqsPort: e.SQS_PORT,
    dynamoPort: e.DYNAMODB_PORT,
    s3Port: e.S3_PORT,
    dataDir: resolve(cwd, e.LOCAL_DIR),
    fresh: e.LOCAL_FRESH,
    environmentsPerFunction: e.LOCAL_ENVIRONMENTS,
    sqsEndpoint: e.AWS_ENDPOINT_URL_SQS,
    dynamoEndpoint: e.AWS_ENDPOINT_URL_DYNAMODB,
    s3Endpoint: e.AWS_ENDPOINT_URL_S3,
    ...tracesOf(e.LOCAL_TRACES, cwd),
  };
}

/** LOCAL_TRACES: off (unset, empty or `off`), `console`, or a file whose folder exists (spans are appended to it). */
function tracesOf(value: string | undefined, cwd: string): { traces?: string } {
  const text = (value ?? '').trim();
  if (text === '' || text === 'off') return {};
  if (text === 'console') return { traces: 'console' };
  const file = resolve(cwd, text);
  if (!existsSync(dirname(file)) || (existsSync(file) && !statSync(file).isFile())) {
    throw new LocalStartupError(`LOCAL_TRACES=${JSON.stringify(value)} is not a file this can append to`, 'set LOCAL_TRACES=console, or a file in a folder that exists; see docs/tracing.md');
  }
  return { traces: file };
}
