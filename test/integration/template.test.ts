import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toSummaryView } from '../../lib/http/taskRoutes';
import { scheduleLogicalId } from '../../lib/schedules/schedule';
import { tickInput } from '../../lib/schedules/tick';
import { ATTENTION_INDEX, toSummary, type StateItem } from '../../lib/store/items';
import { TASK_LIMITS } from '../../lib/task';
import { apiEvent, lambdaContext } from '../support/events';

/**
 * `serverless package` on a copy of the checkout (so that its .esbuild and
 * .serverless folders never meet a concurrent `npm start`), for prod and dev,
 * with no AWS credentials, and assertions on the CloudFormation it writes.
 */
const ROOT = resolve(__dirname, '../..');
const FUNCTIONS = ['api', 'dashboard', 'worker', 'dlq'] as const;
/** Generous: the bundles are about 0.3 MB zipped; a bundled devDependency or a second SDK would blow it. */
const MAX_ZIP_BYTES = 1_000_000;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Packaged {
  dir: string;
  resources: Record<string, Json>;
  template: Json;
}

const DEV_CORS = {
  allowedOrigins: ['https://app.example.test'],
  allowedHeaders: ['content-type', 'authorization', 'x-api-key', 'idempotency-key'],
  allowedMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
  maxAge: 600,
};

/** Every optional param of serverless.yml set, on top of the prod stage. */
const ALL_PARAMS = {
  alarmEmail: 'ops@example.test',
  apiKeyKmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  workerReservedConcurrency: '0',
  tracing: 'xray',
};

/** A state item with every optional field of a list row set. */
const SAMPLE_STATE: StateItem = {
  pk: 'TASK#00', sk: '01ARZ3NDEKTSV4RRFFQ69G5FAV#state', taskId: '01ARZ3NDEKTSV4RRFFQ69G5FAV', name: 'n', priority: 'default', createdAt: 'c', maxAttempts: 3,
  timeoutSeconds: 30, expiresAt: 1, status: 'FAILED', run: 1, attempts: 3, updatedAt: 'u', startedAt: 's', finishedAt: 'f', durationMs: 1, error: { type: 'E', message: 'm' },
};

let work: string;
const stages: Record<'prod' | 'dev' | 'prodAll', Packaged> = {} as never;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'template-test-'));
  for (const entry of ['serverless.yml', 'package.json', 'package-lock.json', 'tsconfig.json', 'functions', 'lib']) {
    cpSync(join(ROOT, entry), join(work, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'), 'dir');
  // Sequential: the runs share the copy's .esbuild folder.
  stages.prod = await packageStage('prod', 'prod');
  // dev and prod with CORS configured for one app, as the comment in serverless.yml shows.
  const yml = readFileSync(join(work, 'serverless.yml'), 'utf8');
  const cors = JSON.stringify(DEV_CORS);
  writeFileSync(join(work, 'serverless.yml'), yml.replace('\nparams:\n', `\nparams:\n  dev:\n    cors: ${cors}\n`).replace('  prod:\n    cors: false\n', `  prod:\n    cors: ${cors}\n`));
  stages.dev = await packageStage('dev', 'dev');
  stages.prodAll = await packageStage('prod', 'prod-all', Object.entries(ALL_PARAMS).map(([k, v]) => `--param=${k}=${v}`));
}, 180_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

async function packageStage(stage: string, label: string, extraArgs: string[] = []): Promise<Packaged> {
  const dir = join(work, `out-${label}`);
  // No credentials at all: packaging must not need AWS.
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_PROFILE: 'none-such', SLS_TELEMETRY_DISABLED: '1' };
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) delete env[name];
  await promisify(execFile)(join(ROOT, 'node_modules/.bin/serverless'), ['package', '--stage', stage, '--package', dir, ...extraArgs], {
    cwd: work,
    env,
    timeout: 110_000,
  });
  const template = JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as Json;
  return { dir, template, resources: template.Resources as Record<string, Json> };
}

const prod = () => stages.prod.resources;
const ofType = (resources: Record<string, Json>, type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const functionId = (name: string) => `${name[0]!.toUpperCase()}${name.slice(1)}LambdaFunction`;

/** The file names in a zip, from its central directory. */
function zipEntries(file: string): string[] {
  const buf = readFileSync(file);
  const end = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = buf.readUInt16LE(end + 10);
  let at = buf.readUInt32LE(end + 16);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const nameLength = buf.readUInt16LE(at + 28);
    names.push(buf.toString('utf8', at + 46, at + 46 + nameLength));
    at += 46 + nameLength + buf.readUInt16LE(at + 30) + buf.readUInt16LE(at + 32);
  }
  return names;
}

/** One file out of a zip (stored or deflated). */
function unzipEntry(file: string, name: string): Buffer {
  const buf = readFileSync(file);
  const end = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  let at = buf.readUInt32LE(end + 16);
  for (let i = 0; i < buf.readUInt16LE(end + 10); i++) {
    const nameLength = buf.readUInt16LE(at + 28);
    if (buf.toString('utf8', at + 46, at + 46 + nameLength) === name) {
      const method = buf.readUInt16LE(at + 10);
      const size = buf.readUInt32LE(at + 20);
      const local = buf.readUInt32LE(at + 42);
      const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
      const data = buf.subarray(start, start + size);
      return method === 0 ? data : inflateRawSync(data);
    }
    at += 46 + nameLength + buf.readUInt16LE(at + 30) + buf.readUInt16LE(at + 32);
  }
  throw new Error(`${name} not in ${file}`);
}

/**
 * Runs a packaged handler in a fresh Node process, away from the checkout's
 * node_modules (as on Lambda), with the environment serverless.yml gives it;
 * AWS endpoints point at a closed port, so any AWS call fails at once.
 */
async function invokePackaged(name: string, event: unknown, envOverrides: NodeJS.ProcessEnv = {}, stage: 'prod' | 'prodAll' = 'prod'): Promise<unknown> {
  const dir = join(work, `run-${stage}-${name}`);
  if (!existsSync(dir)) {
    mkdirSync(join(dir, 'functions'), { recursive: true });
    // What the Lambda runtime provides: the AWS SDK v3 (the api takes @aws-sdk/client-ssm from it).
    mkdirSync(join(dir, 'node_modules', '@aws-sdk'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules/@aws-sdk/client-ssm'), join(dir, 'node_modules/@aws-sdk/client-ssm'), 'dir');
  }
  writeFileSync(join(dir, 'functions', `${name}.js`), unzipEntry(join(stages[stage].dir, `${name}.zip`), `functions/${name}.js`));
  const context = JSON.stringify(lambdaContext(60_000));
  const script = [
    `const context = Object.assign(${context}, { getRemainingTimeInMillis: () => 60000 });`,
    `require(${JSON.stringify(join(dir, 'functions', `${name}.js`))}).handler(JSON.parse(process.argv[1]), context)`,
    `.then((r) => process.stdout.write('@@RESULT' + JSON.stringify(r)), (e) => { console.error(e); process.exit(1); });`,
  ].join('\n');
  const vars = stages[stage].resources[functionId(name)]!.Properties.Environment.Variables as Record<string, unknown>;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    AWS_MAX_ATTEMPTS: '1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    ...Object.fromEntries(Object.entries(vars).filter(([, v]) => typeof v === 'string')),
    QUEUE_URL_HIGH: 'https://sqs.us-east-1.amazonaws.com/000000000000/background-tasks-prod-high',
    QUEUE_URL_DEFAULT: 'https://sqs.us-east-1.amazonaws.com/000000000000/background-tasks-prod-default',
    // No SSM here: the key comes from the environment, as in local runs.
    API_KEY_PARAMETER: '',
    API_KEY: 'bundle-test-key',
    ...envOverrides,
  };
  const { stdout } = await promisify(execFile)(process.execPath, ['--no-warnings', '-e', script, JSON.stringify(event)], { cwd: dir, env, timeout: 30_000 });
  return JSON.parse(stdout.slice(stdout.lastIndexOf('@@RESULT') + '@@RESULT'.length)) as unknown;
}

const NO_VALUE = { Ref: 'AWS::NoValue' };
const isNoValue = (x: unknown) => JSON.stringify(x) === JSON.stringify(NO_VALUE);

/** Every IAM statement of a role (an unset optional one is AWS::NoValue, which CloudFormation drops). */
function statements(role: Json): Json[] {
  return (role.Properties.Policies as Json[]).flatMap((p) => (p.PolicyDocument.Statement as Json[]).filter((s) => !isNoValue(s)));
}
const list = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);
const actionsOf = (role: Json) => statements(role).flatMap((s) => list(s.Action as string | string[]));

describe('serverless package --stage prod', () => {
  it('runs every function on nodejs24.x, arm64, from its own package', () => {
    const keys = new Set<string>();
    for (const name of FUNCTIONS) {
      const fn = prod()[functionId(name)]!;
      expect(fn.Properties.Runtime).toBe('nodejs24.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.Code.S3Key).toMatch(new RegExp(`/${name}\\.zip$`));
      keys.add(fn.Properties.Code.S3Key);
    }
    expect(keys.size).toBe(FUNCTIONS.length);
    expect(ofType(prod(), 'AWS::Lambda::Version')).toEqual([]);
  });

  it('bundles each function into one minified file, with no node_modules, well under the size bound', () => {
    for (const name of FUNCTIONS) {
      const zip = join(stages.prod.dir, `${name}.zip`);
      expect(zipEntries(zip)).toEqual([`functions/${name}.js`]);
      expect(statSync(zip).size).toBeLessThan(MAX_ZIP_BYTES);
    }
    expect(existsSync(join(stages.prod.dir, 'background-tasks.zip'))).toBe(false);
  });

  it('ships an api bundle that answers on its own: health, a key check, and payload validation (zod, trimmed)', async () => {
    const health = (await invokePackaged('api', apiEvent('GET', '/health', { apiKey: null }))) as Json;
    expect(health.statusCode).toBe(200);
    const unauthorised = (await invokePackaged('api', apiEvent('GET', '/tasks', { apiKey: 'wrong' }))) as Json;
    expect(unauthorised.statusCode).toBe(401);
    const invalid = (await invokePackaged(
      'api',
      apiEvent('POST', '/tasks', { apiKey: 'bundle-test-key', body: { name: 'write_log', payload: { message: 42 } } }),
    )) as Json;
    expect(invalid.statusCode).toBe(400);
    expect(JSON.parse(invalid.body as string).error).toMatchObject({
      code: 'validation_error',
      details: [{ path: 'message', message: 'Invalid input: expected string, received number' }],
    });
  });

  it('ships an api bundle that serves the OpenAPI document built with it, without a key: the committed openapi.json', async () => {
    const res = (await invokePackaged('api', apiEvent('GET', '/openapi.json', { apiKey: null }))) as Json;

    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body as string)).toEqual(JSON.parse(readFileSync(join(__dirname, '../../openapi.json'), 'utf8')));
  });

  it('ships an api bundle that reads its keys from the SSM parameter it is given, with the runtime’s SSM client', async () => {
    const requests: string[] = [];
    const ssm = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      req.on('end', () => {
        const { Name, WithDecryption } = JSON.parse(raw) as { Name: string; WithDecryption: boolean };
        requests.push(`${String(req.headers['x-amz-target'])} ${Name} ${WithDecryption}`);
        res.setHeader('content-type', 'application/x-amz-json-1.1');
        res.end(JSON.stringify({ Parameter: { Name, Type: 'SecureString', Value: 'ssm-key-1,ssm-key-2', Version: 1 } }));
      });
    });
    await new Promise<void>((done) => ssm.listen(0, '127.0.0.1', done));
    try {
      const parameter = prod().ApiLambdaFunction!.Properties.Environment.Variables.API_KEY_PARAMETER as string;
      const env = { API_KEY_PARAMETER: parameter, API_KEY: '', AWS_ENDPOINT_URL_SSM: `http://127.0.0.1:${(ssm.address() as AddressInfo).port}` };
      const accepted = (await invokePackaged('api', apiEvent('GET', '/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV', { apiKey: 'ssm-key-2' }), env)) as Json;
      // Past the key check, to the table, which is unreachable here.
      expect(accepted.statusCode).toBe(503);
      expect(JSON.parse(accepted.body as string).error.code).toBe('service_unavailable');
      const refused = (await invokePackaged('api', apiEvent('GET', '/tasks', { apiKey: 'bundle-test-key' }), env)) as Json;
      expect(refused.statusCode).toBe(401);
      expect(requests).toEqual(Array(2).fill('AmazonSSM.GetParameter /background-tasks/prod/api-keys true'));
    } finally {
      await new Promise((done) => ssm.close(done));
    }
  });

  it('routes the dashboard’s paths to its own function and everything else to the api, whose bundle has no page in it', async () => {
    const routes = ofType(prod(), 'AWS::ApiGatewayV2::Route').map(([, r]) => [r.Properties.RouteKey, JSON.stringify(r.Properties.Target)]);
    expect(routes.map(([key]) => key).sort()).toEqual(['$default', 'ANY /dashboard', 'ANY /dashboard/{file}']);
    for (const [key, target] of routes) expect(target).toContain(key === '$default' ? 'HttpApiIntegrationApi' : 'HttpApiIntegrationDashboard');

    const page = (await invokePackaged('dashboard', apiEvent('GET', '/dashboard', { apiKey: null }))) as Json;
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('Open dashboard');
    expect(unzipEntry(join(stages.prod.dir, 'api.zip'), 'functions/api.js').toString('utf8')).not.toContain('Open dashboard');
  });

  it('ships a worker bundle that handles a batch on its own: a poison message comes back for redrive', async () => {
    const record = { messageId: 'm-1', receiptHandle: 'r-1', body: 'not json', attributes: { ApproximateReceiveCount: '1' }, eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:background-tasks-prod-default' };
    expect(await invokePackaged('worker', { Records: [record] })).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
  });

  it('encrypts every queue and redrives the task queues to their own DLQ well above the largest maxAttempts', () => {
    const queues = ofType(prod(), 'AWS::SQS::Queue');
    expect(queues.map(([id]) => id).sort()).toEqual(['DefaultDeadLetterQueue', 'DefaultQueue', 'HighDeadLetterQueue', 'HighQueue']);
    for (const [, q] of queues) expect(q.Properties.SqsManagedSseEnabled).toBe(true);
    for (const id of ['HighQueue', 'DefaultQueue']) {
      const redrive = prod()[id]!.Properties.RedrivePolicy;
      expect(redrive.deadLetterTargetArn).toEqual({ 'Fn::GetAtt': [id.replace('Queue', 'DeadLetterQueue'), 'Arn'] });
      expect(redrive.maxReceiveCount).toBeGreaterThanOrEqual(2 * TASK_LIMITS.maxAttempts);
    }
  });

  it('keeps every consumed queue’s visibility timeout at least 6x its consumer’s timeout, in every stage', () => {
    for (const { resources } of Object.values(stages)) {
      const mappings = ofType(resources, 'AWS::Lambda::EventSourceMapping').map(([, m]) => m.Properties);
      expect(mappings).toHaveLength(4);
      for (const m of mappings) {
        const queue = resources[m.EventSourceArn['Fn::GetAtt'][0] as string]!;
        const fn = resources[m.FunctionName['Fn::GetAtt'][0] as string]!;
        // SQS's default (30 s) when the queue sets none: Lambda refuses a mapping below the function's timeout.
        const visibility = (queue.Properties.VisibilityTimeout as number | undefined) ?? 30;
        expect(visibility, `${m.EventSourceArn['Fn::GetAtt'][0]}`).toBeGreaterThanOrEqual(6 * (fn.Properties.Timeout as number));
      }
    }
  });

  it('keeps every sqs event’s batch size, batching window and concurrency within what Lambda accepts', () => {
    for (const { resources } of Object.values(stages)) {
      for (const [, m] of ofType(resources, 'AWS::Lambda::EventSourceMapping')) {
        const { BatchSize: size, MaximumBatchingWindowInSeconds: window = 0, ScalingConfig } = m.Properties as Json;
        // Standard queues: 1-10,000 per batch, more than 10 only with a batching window; window 0-300 s; 2-1,000 concurrent batches.
        expect(size).toBeGreaterThanOrEqual(1);
        expect(size).toBeLessThanOrEqual(10_000);
        if (size > 10) expect(window).toBeGreaterThanOrEqual(1);
        expect(window).toBeGreaterThanOrEqual(0);
        expect(window).toBeLessThanOrEqual(300);
        if (ScalingConfig) {
          expect(ScalingConfig.MaximumConcurrency).toBeGreaterThanOrEqual(2);
          expect(ScalingConfig.MaximumConcurrency).toBeLessThanOrEqual(1_000);
        }
      }
    }
  });

  it('feeds the worker with partial batch responses, batch size, window and a concurrency cap per queue', () => {
    const mappings: Record<string, Json> = Object.fromEntries(
      ofType(prod(), 'AWS::Lambda::EventSourceMapping').map(([, m]) => [m.Properties.EventSourceArn['Fn::GetAtt'][0] as string, m.Properties as Json]),
    );
    expect(Object.keys(mappings).sort()).toEqual(['DefaultDeadLetterQueue', 'DefaultQueue', 'HighDeadLetterQueue', 'HighQueue']);
    for (const m of Object.values(mappings)) {
      expect(m.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      expect(m.BatchSize).toBe(10);
      expect(m.ScalingConfig.MaximumConcurrency).toBeGreaterThanOrEqual(2);
    }
    const high = mappings.HighQueue!;
    const dflt = mappings.DefaultQueue!;
    expect(high.FunctionName).toEqual({ 'Fn::GetAtt': ['WorkerLambdaFunction', 'Arn'] });
    expect(high.MaximumBatchingWindowInSeconds).toBe(0);
    expect(dflt.MaximumBatchingWindowInSeconds).toBeGreaterThanOrEqual(0);
    expect(mappings.HighDeadLetterQueue!.FunctionName).toEqual({ 'Fn::GetAtt': ['DlqLambdaFunction', 'Arn'] });
  });

  it('keeps headroom for the high queue: the worker reserves both caps, so default tasks cannot take high’s share', () => {
    const reserved = prod().WorkerLambdaFunction!.Properties.ReservedConcurrentExecutions as number;
    const mappings = ofType(prod(), 'AWS::Lambda::EventSourceMapping').map(([, m]) => m.Properties);
    const cap = (queue: string) => mappings.find((m) => m.EventSourceArn['Fn::GetAtt'][0] === queue)!.ScalingConfig.MaximumConcurrency as number;
    expect(reserved).toBe(cap('HighQueue') + cap('DefaultQueue'));
    expect(reserved - cap('DefaultQueue')).toBeGreaterThanOrEqual(cap('HighQueue'));
    // workerReservedConcurrency=0 reserves none: the property is left out, not set to 0 (which would stop the worker).
    expect(stages.prodAll.resources.WorkerLambdaFunction!.Properties.ReservedConcurrentExecutions).toEqual(NO_VALUE);
  });

  it('builds the table on demand, with TTL, point-in-time recovery, SSE, a sparse index of failed and cancelled tasks, and deletion protection', () => {
    const table = prod().TasksTable!;
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      TableName: 'background-tasks-prod-tasks-v2',
      BillingMode: 'PAY_PER_REQUEST',
      DeletionProtectionEnabled: true,
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
    const [index, ...others] = table.Properties.GlobalSecondaryIndexes as Json[];
    expect(others).toEqual([]);
    expect(index).toMatchObject({
      IndexName: ATTENTION_INDEX,
      KeySchema: [
        { AttributeName: 'attention', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'INCLUDE' },
    });
    // Everything a list row shows, and nothing more (no payload, result or attempt log), but what only the
    // definition holds (its delay, its runAt, its trace), which the index of states cannot have.
    const row = Object.keys(toSummaryView(toSummary(undefined, SAMPLE_STATE)));
    expect([...index!.Projection.NonKeyAttributes].sort()).toEqual(row.filter((k) => k !== 'delaySeconds' && k !== 'runAt' && k !== 'traceId').sort());
  });

  it('gives each function its own role, and no role a wildcard action or resource on SQS or DynamoDB', () => {
    expect(prod().IamRoleLambdaExecution).toBeUndefined();
    const roles = ofType(prod(), 'AWS::IAM::Role');
    expect(roles.map(([id]) => id).sort()).toEqual(['ApiRole', 'DashboardRole', 'DlqRole', 'SchedulerRole', 'WorkerRole']);
    for (const name of FUNCTIONS) {
      const role = `${name[0]!.toUpperCase()}${name.slice(1)}Role`;
      expect(prod()[functionId(name)]!.Properties.Role).toEqual({ 'Fn::GetAtt': [role, 'Arn'] });
    }
    for (const [, role] of roles) {
      for (const s of statements(role)) {
        const actions = list(s.Action as string | string[]);
        expect(actions.every((a) => a !== '*' && !a.endsWith(':*'))).toBe(true);
        if (actions.some((a) => /^(sqs|dynamodb):/.test(a))) {
          for (const r of list(s.Resource)) expect(JSON.stringify(r)).not.toContain('*');
        }
      }
    }
  });

  it('grants each role exactly the calls its function makes', () => {
    const sorted = (role: string) => [...new Set(actionsOf(prod()[role]!))].sort();
    expect(sorted('ApiRole')).toEqual(
      [
        'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem',
        'logs:CreateLogStream', 'logs:PutLogEvents', 'sqs:GetQueueAttributes', 'sqs:SendMessage', 'ssm:GetParameter',
        'scheduler:CreateSchedule', 'scheduler:DeleteSchedule', 'iam:PassRole', 's3:GetObject', 's3:PutObject',
      ].sort(),
    );
    expect(sorted('WorkerRole')).toEqual(
      [
        'dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'logs:CreateLogStream', 'logs:PutLogEvents',
        'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage', 'sqs:SendMessage',
        's3:GetObject', 's3:PutObject', 'scheduler:CreateSchedule', 'iam:PassRole',
      ].sort(),
    );
    expect(sorted('DlqRole')).toEqual(
      [
        'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'logs:CreateLogStream', 'logs:PutLogEvents',
        'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage', 'sqs:SendMessage',
      ].sort(),
    );
    expect(sorted('DashboardRole')).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    expect(sorted('SchedulerRole')).toEqual(['sqs:SendMessage']);
    // Each role writes logs to its own function's log group only.
    for (const name of FUNCTIONS) {
      const role = prod()[`${name[0]!.toUpperCase()}${name.slice(1)}Role`]!;
      const logs = statements(role).find((s) => list(s.Action).includes('logs:PutLogEvents'))!;
      expect(logs.Resource).toEqual({ 'Fn::GetAtt': [`${name[0]!.toUpperCase()}${name.slice(1)}LogGroup`, 'Arn'] });
    }
  });

  it('keeps payloads and results in a private, encrypted bucket, TLS only, whose objects expire with the tasks', () => {
    const bucket = prod().PayloadBucket!;
    expect(bucket.Type).toBe('AWS::S3::Bucket');
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(stages.dev.resources.PayloadBucket!.DeletionPolicy).toBe('Delete');
    expect(bucket.Properties).toEqual({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: true }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LifecycleConfiguration: { Rules: [{ Id: 'expire-with-the-tasks', Status: 'Enabled', ExpirationInDays: 30, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }] },
    });
    // The same retention as the records' TTL, from one setting.
    expect(prod().ApiLambdaFunction!.Properties.Environment.Variables.TASK_RETENTION_DAYS).toBe('30');
    const arn = { 'Fn::GetAtt': ['PayloadBucket', 'Arn'] };
    expect(prod().PayloadBucketPolicy!.Properties).toEqual({
      Bucket: { Ref: 'PayloadBucket' },
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Sid: 'TlsOnly', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [arn, { 'Fn::Join': ['', [arn, '/*']] }], Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
        ],
      },
    });
    for (const name of FUNCTIONS) {
      expect(prod()[functionId(name)]!.Properties.Environment.Variables.PAYLOAD_BUCKET).toEqual({ Ref: 'PayloadBucket' });
    }
  });

  it('lets the api write and read payloads and read results, the worker read payloads and write results, in the bucket’s own prefixes; the dlq nothing', () => {
    const objects = (prefix: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': ['PayloadBucket', 'Arn'] }, `/${prefix}/*`]] });
    const s3Statements = (role: string) => statements(prod()[role]!).filter((s) => list(s.Action).some((a: string) => a.startsWith('s3:')));
    expect(s3Statements('ApiRole')).toEqual([
      { Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject'], Resource: objects('payloads') },
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: objects('results') },
    ]);
    // A workflow's worker reads the result before a step and writes it as the step's payload (lib/workflows).
    expect(s3Statements('WorkerRole')).toEqual([
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: objects('payloads') },
      { Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject'], Resource: objects('results') },
    ]);
    expect(s3Statements('DlqRole')).toEqual([]);
    expect(s3Statements('DashboardRole')).toEqual([]);
  });

  it('generates one EventBridge schedule per scheduled task, in the stage’s group, sending its tick to the task’s queue as the scheduler role', () => {
    const schedules = ofType(prod(), 'AWS::Scheduler::Schedule');
    expect(schedules.map(([id]) => id)).toEqual([scheduleLogicalId('daily_report')]);
    expect(schedules[0]![1].Properties).toEqual({
      Name: 'recurring-daily_report',
      GroupName: { Ref: 'ScheduleGroup' },
      Description: 'Enqueues daily_report: cron 0 9 * * MON-FRI (Europe/Paris)',
      ScheduleExpression: 'cron(0 9 ? * MON-FRI *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': ['DefaultQueue', 'Arn'] },
        RoleArn: { 'Fn::GetAtt': ['SchedulerRole', 'Arn'] },
        Input: tickInput('daily_report'),
        RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['DefaultDeadLetterQueue', 'Arn'] } },
      },
    });
    expect(ofType(prod(), 'AWS::Scheduler::ScheduleGroup')).toEqual([['ScheduleGroup', { Type: 'AWS::Scheduler::ScheduleGroup', Properties: { Name: 'background-tasks-prod' } }]]);
    expect(stages.dev.resources.ScheduleGroup!.Properties.Name).toBe('background-tasks-dev');
  });

  it('lets the scheduler role send to the task queues and their DLQs only, taken only by this account’s schedules of this stage’s group', () => {
    const role = prod().SchedulerRole!;
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } }, ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['ScheduleGroup', 'Arn'] } } },
      },
    ]);
    expect(statements(role)).toEqual([
      {
        Effect: 'Allow',
        Action: 'sqs:SendMessage',
        Resource: ['HighQueue', 'DefaultQueue', 'HighDeadLetterQueue', 'DefaultDeadLetterQueue'].map((q) => ({ 'Fn::GetAtt': [q, 'Arn'] })),
      },
    ]);
  });

  it('lets the api create and delete its one-time schedules (run-*) in the stage’s group only, and pass the scheduler role to EventBridge Scheduler only', () => {
    const api = statements(prod().ApiRole!);
    const scheduler = api.filter((s) => list(s.Action).some((a: string) => a.startsWith('scheduler:')));
    expect(scheduler).toHaveLength(1);
    expect(JSON.stringify(scheduler[0]!.Resource)).toMatch(/":schedule\/background-tasks-prod\/run-\*"/);
    expect(api.filter((s) => list(s.Action).includes('iam:PassRole'))).toEqual([
      { Effect: 'Allow', Action: 'iam:PassRole', Resource: { 'Fn::GetAtt': ['SchedulerRole', 'Arn'] }, Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } } },
    ]);
    const vars = prod().ApiLambdaFunction!.Properties.Environment.Variables as Record<string, unknown>;
    expect(vars).toMatchObject({ SCHEDULE_GROUP: { Ref: 'ScheduleGroup' }, SCHEDULER_ROLE_ARN: { 'Fn::GetAtt': ['SchedulerRole', 'Arn'] }, QUEUE_ARN_HIGH: { 'Fn::GetAtt': ['HighQueue', 'Arn'] } });
    // Not bundled: the api takes the Scheduler client from the Lambda runtime, when a task first needs a timer.
    expect(unzipEntry(join(stages.prod.dir, 'api.zip'), 'functions/api.js').toString('utf8')).toContain('require("@aws-sdk/client-scheduler")');
  });

  it('lets the api read one SSM parameter, and decrypt with a customer key only through SSM and only if one is configured', () => {
    const api = statements(prod().ApiRole!);
    const ssm = api.filter((s) => list(s.Action).some((a: string) => a.startsWith('ssm:')));
    expect(ssm).toHaveLength(1);
    expect(ssm[0]!.Action).toBe('ssm:GetParameter');
    expect(JSON.stringify(ssm[0]!.Resource)).toContain(':parameter/background-tasks/prod/api-keys"');
    expect(api.filter((s) => list(s.Action).includes('kms:Decrypt'))).toEqual([]);
    expect(statements(stages.prodAll.resources.ApiRole!).filter((s) => list(s.Action).includes('kms:Decrypt'))).toEqual([
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: ALL_PARAMS.apiKeyKmsKeyArn,
        Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['ssm.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } },
      },
    ]);
  });

  it('subscribes the alarm email only when one is configured', () => {
    expect(prod().AlarmTopic!.Properties.Subscription).toEqual([NO_VALUE]);
    expect(stages.prodAll.resources.AlarmTopic!.Properties.Subscription).toEqual([{ Protocol: 'email', Endpoint: ALL_PARAMS.alarmEmail }]);
  });

  it('puts no secret in any environment: the api gets the parameter’s name, never a key', () => {
    for (const name of FUNCTIONS) {
      const vars = prod()[functionId(name)]!.Properties.Environment.Variables as Record<string, unknown>;
      expect(vars.API_KEY).toBeUndefined();
      for (const key of Object.keys(vars)) expect(key).not.toMatch(/SECRET|PASSWORD|TOKEN|^API_KEY$/);
      expect(vars.POWERTOOLS_METRICS_NAMESPACE).toBe('BackgroundTasks');
    }
    expect(prod().ApiLambdaFunction!.Properties.Environment.Variables.API_KEY_PARAMETER).toBe('/background-tasks/prod/api-keys');
    expect(prod().WorkerLambdaFunction!.Properties.Environment.Variables.API_KEY_PARAMETER).toBeUndefined();
    expect(ofType(prod(), 'AWS::SSM::Parameter')).toEqual([]);
    expect(JSON.stringify(stages.prod.template)).not.toContain('local-dev-key');
  });

  it('alarms on any message in either DLQ, on any dead-lettered task, and on any worker error', () => {
    const alarms = ofType(prod(), 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    for (const dlq of ['HighDeadLetterQueue', 'DefaultDeadLetterQueue']) {
      expect(alarms).toContainEqual(
        expect.objectContaining({
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
          AlarmActions: [{ Ref: 'AlarmTopic' }],
        }),
      );
    }
    expect(alarms).toContainEqual(
      expect.objectContaining({
        Namespace: 'AWS/Lambda',
        MetricName: 'Invocations',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: 'DlqLambdaFunction' } }],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    );
    expect(alarms).toContainEqual(
      expect.objectContaining({
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: 'WorkerLambdaFunction' } }],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    );
  });

  it('sets log retention on every function and on the HTTP API access logs', () => {
    const groups = ofType(prod(), 'AWS::Logs::LogGroup');
    expect(groups.map(([id]) => id).sort()).toEqual(['ApiLogGroup', 'DashboardLogGroup', 'DlqLogGroup', 'HttpApiLogGroup', 'WorkerLogGroup']);
    for (const [, g] of groups) expect(g.Properties.RetentionInDays).toBe(30);
  });

  it('sends no CORS headers unless origins are configured, and throttles the default route', () => {
    expect(prod().HttpApi!.Properties.CorsConfiguration).toBeUndefined();
    expect(JSON.stringify(stages.prod.template)).not.toMatch(/AllowOrigins|Access-Control/);
    const settings = prod().HttpApiStage!.Properties.DefaultRouteSettings;
    expect(settings.ThrottlingRateLimit).toBe(500);
    expect(settings.ThrottlingBurstLimit).toBe(1000);
  });
});

describe('tracing, a stage param (docs/tracing.md)', () => {
  /** The UDP datagram header of spans sent to X-Ray's daemon: in a bundle only with the SDK. */
  const SDK_MARK = '{"format":"json","version":1}';
  const bundle = (stage: 'prod' | 'prodAll', name: string) => unzipEntry(join(stages[stage].dir, `${name}.zip`), `functions/${name}.js`).toString('utf8');
  const xrayStatements = (role: Json) => statements(role).filter((s) => list(s.Action).some((a: string) => a.startsWith('xray:')));

  it('is off by default: no active tracing, no X-Ray right, no SDK in any bundle', () => {
    for (const name of FUNCTIONS) {
      const fn = prod()[functionId(name)]!;
      expect(fn.Properties.TracingConfig).toBeUndefined();
      expect(fn.Properties.Environment.Variables.TRACING).toBe('off');
      expect(bundle('prod', name)).not.toContain(SDK_MARK);
    }
    for (const role of ['ApiRole', 'WorkerRole', 'DlqRole', 'DashboardRole']) expect(xrayStatements(prod()[role]!)).toEqual([]);
  });

  it('on (tracing=xray): active tracing, X-Ray’s two write calls and the SDK for the api and the worker only', () => {
    const on = stages.prodAll.resources;
    for (const name of ['api', 'worker']) {
      expect(on[functionId(name)]!.Properties.TracingConfig).toEqual({ Mode: 'Active' });
      expect(bundle('prodAll', name)).toContain(SDK_MARK);
      // The SDK costs the bundle about 60 KB (docs/tracing.md), well within the zip bound.
      expect(statSync(join(stages.prodAll.dir, `${name}.zip`)).size).toBeLessThan(MAX_ZIP_BYTES);
    }
    for (const name of ['dlq', 'dashboard']) {
      expect(on[functionId(name)]!.Properties.TracingConfig).toBeUndefined();
      expect(bundle('prodAll', name)).not.toContain(SDK_MARK);
    }
    for (const name of FUNCTIONS) expect(on[functionId(name)]!.Properties.Environment.Variables.TRACING).toBe('xray');
    const xray = { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' };
    expect(xrayStatements(on.ApiRole!)).toEqual([xray]);
    expect(xrayStatements(on.WorkerRole!)).toEqual([xray]);
    expect(xrayStatements(on.DlqRole!)).toEqual([]);
    expect(xrayStatements(on.DashboardRole!)).toEqual([]);
  });

  it('on: the packaged api sends its spans to the daemon’s address over UDP, in the trace of the request’s traceparent', async () => {
    const daemon = createSocket('udp4');
    const datagrams: Buffer[] = [];
    daemon.on('message', (m) => datagrams.push(m));
    await new Promise<void>((done) => daemon.bind(0, '127.0.0.1', done));
    try {
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const env = { AWS_LAMBDA_FUNCTION_NAME: 'background-tasks-prod-api', AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemon.address().port}` };
      const event = apiEvent('GET', '/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV', { apiKey: 'bundle-test-key', headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
      // The table is unreachable here: the request span ends in a 503, and is sent before the handler returns.
      const res = (await invokePackaged('api', event, env, 'prodAll')) as Json;
      expect(res.statusCode).toBe(503);
      for (let i = 0; i < 50 && datagrams.length === 0; i++) await new Promise((r) => setTimeout(r, 20));

      expect(datagrams).toHaveLength(1);
      const [header, body] = datagrams[0]!.toString('utf8').split('\n') as [string, string];
      expect(header).toBe(SDK_MARK);
      const protobuf = Buffer.from(body.replace(/^T1S/, ''), 'base64');
      expect(protobuf.includes(Buffer.from(traceId, 'hex'))).toBe(true);
      expect(protobuf.includes(Buffer.from('GET /tasks/{id}'))).toBe(true);
    } finally {
      daemon.close();
    }
  });
});

describe('serverless package --stage dev', () => {
  it('leaves the table deletable, reserves no concurrency, and keeps logs for less time', () => {
    const dev = stages.dev.resources;
    expect(dev.TasksTable!.Properties.DeletionProtectionEnabled).toBe(false);
    expect(dev.TasksTable!.DeletionPolicy).toBe('Delete');
    expect(dev.WorkerLambdaFunction!.Properties.ReservedConcurrentExecutions).toEqual(NO_VALUE);
    expect(dev.WorkerLogGroup!.Properties.RetentionInDays).toBe(14);
    expect(dev.ApiLambdaFunction!.Properties.Environment.Variables.API_KEY_PARAMETER).toBe('/background-tasks/dev/api-keys');
    expect(dev.HttpApiStage!.Properties.DefaultRouteSettings.ThrottlingRateLimit).toBe(50);
  });

  it('allows exactly the configured CORS origins, without credentials', () => {
    expect(stages.dev.resources.HttpApi!.Properties.CorsConfiguration).toEqual({
      AllowOrigins: ['https://app.example.test'],
      AllowHeaders: DEV_CORS.allowedHeaders,
      AllowMethods: DEV_CORS.allowedMethods,
      MaxAge: 600,
    });
  });
});

/**
 * Warnings cfn-lint raises on the Framework's own output, accepted with the
 * reason docs/deploy.md gives; any other warning, and every error,
 * fails the test.
 */
const ACCEPTED_WARNINGS: Record<string, string> = {
  W3005: 'the Framework adds a DependsOn that a GetAtt or Ref already implies (function roles, API Gateway integrations): redundant, harmless',
};

interface LintMatch {
  Rule: { Id: string };
  Message: string;
  Location: { Start: { LineNumber: number } };
}

/** cfn-lint's findings on a template; fails, saying how to install it, if cfn-lint is not on PATH. */
async function cfnLint(file: string): Promise<LintMatch[]> {
  try {
    const { stdout } = await promisify(execFile)('cfn-lint', ['--format', 'json', '--non-zero-exit-code', 'none', '--', file], { timeout: 120_000 });
    return JSON.parse(stdout) as LintMatch[];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('cfn-lint is not on PATH: install it (pip install cfn-lint, or pipx install cfn-lint) to check the template as CloudFormation would');
    }
    throw error;
  }
}

describe('independent checks: cfn-lint', () => {
  for (const label of ['prod', 'dev', 'prodAll'] as const) {
    it(`finds no error and no unlisted warning in the ${label} template`, async () => {
      const matches = await cfnLint(join(stages[label].dir, 'cloudformation-template-update-stack.json'));
      const unexpected = matches.filter((m) => !(m.Rule.Id in ACCEPTED_WARNINGS)).map((m) => `${m.Rule.Id} line ${m.Location.Start.LineNumber}: ${m.Message}`);
      expect(unexpected).toEqual([]);
    }, 120_000);
  }

  it('lists every accepted warning, with its reason, in the deploy page', () => {
    const page = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');
    for (const id of Object.keys(ACCEPTED_WARNINGS)) expect(page).toContain(id);
  });
});
