import { CreateTableCommand, DynamoDBClient, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import dynalite from 'dynalite';
import yaml from 'js-yaml';
import { createSqsServer } from 'local-aws-sqs';
import { CALL_TIMEOUTS, createDocumentClient, createDynamoClient, createSqsClient } from '../../lib/clients';
import type { EngineConfig } from '../../lib/config';
import { createEngine, type Engine } from '../../lib/engine';
import { TaskQueue } from '../../lib/queue';
import { TaskStore } from '../../lib/store/taskStore';
import { fillDynaliteGaps } from '../../lib/local/dynaliteGaps.cjs';
import { PayloadObjects } from '../../lib/payloads/objectStore';
import { createS3Client } from '../../lib/payloads/s3Client';
import { createS3Server } from '../../lib/payloads/s3Server.cjs';
import { installFaults, type FaultKit } from './faults';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const region = 'us-east-1';

/** Real dynalite, local-aws-sqs and S3 (lib/payloads/s3Server.cjs) servers on free ports, for one test file. */
export interface LocalAws {
  dynamoEndpoint: string;
  sqsEndpoint: string;
  s3Endpoint: string;
  dynamo: DynamoDBClient;
  sqs: SQSClient;
  s3: S3Client;
  close(): Promise<void>;
}

export async function startLocalAws(): Promise<LocalAws> {
  fillDynaliteGaps();
  const dynamoServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => dynamoServer.listen(0, '127.0.0.1', () => resolve()));
  const dynamoEndpoint = `http://127.0.0.1:${(dynamoServer.address() as AddressInfo).port}`;
  const sqsServer = await createSqsServer({ port: 0, hostname: '127.0.0.1' });
  const sqsEndpoint = `http://127.0.0.1:${(sqsServer.address() as AddressInfo).port}`;
  const s3Server = createS3Server({ credentials: { [credentials.accessKeyId]: credentials.secretAccessKey } });
  await new Promise<void>((resolve) => s3Server.listen(0, '127.0.0.1', () => resolve()));
  const s3Endpoint = `http://127.0.0.1:${(s3Server.address() as AddressInfo).port}`;
  const dynamo = new DynamoDBClient({ endpoint: dynamoEndpoint, region, credentials });
  const sqs = new SQSClient({ endpoint: sqsEndpoint, region, credentials });
  const s3 = createS3Client({ endpoint: s3Endpoint, region, credentials, forcePathStyle: true });
  return {
    dynamoEndpoint,
    sqsEndpoint,
    s3Endpoint,
    dynamo,
    sqs,
    s3,
    async close() {
      dynamo.destroy();
      sqs.destroy();
      s3.destroy();
      await new Promise((r) => dynamoServer.close(r));
      await new Promise((r) => sqsServer.close(r));
      s3Server.closeAllConnections();
      await new Promise((r) => s3Server.close(r));
    },
  };
}

/** Per-try timeouts for a test's clients: the engine's own unless a test asks for shorter ones. */
export type CallTimeouts = typeof CALL_TIMEOUTS | { connectionTimeout: number; requestTimeout: number; throwOnRequestTimeout: true };

/**
 * Fresh clients to the same servers, built as the engine builds its own (with
 * its timeouts, or `timeouts`), for a test that injects faults without touching the shared ones.
 */
export function dedicatedClients(aws: LocalAws, timeouts: CallTimeouts = CALL_TIMEOUTS): { dynamo: DynamoDBClient; sqs: SQSClient; s3: S3Client } {
  return {
    dynamo: createDynamoClient({ endpoint: aws.dynamoEndpoint, region, credentials, requestHandler: timeouts }),
    sqs: createSqsClient({ endpoint: aws.sqsEndpoint, region, credentials, requestHandler: timeouts }),
    s3: createS3Client({ endpoint: aws.s3Endpoint, region, credentials, requestHandler: timeouts, forcePathStyle: true }),
  };
}

const CfnTags = ['!Ref', '!GetAtt', '!Sub', '!Join'].map(
  (tag) => new yaml.Type(tag, { kind: tag === '!Join' ? 'sequence' : 'scalar', construct: (data: unknown) => ({ [tag]: data }) }),
);

function serverlessYml(): { resources: { Resources: Record<string, never> }; custom: Record<string, unknown> } {
  const text = readFileSync(join(__dirname, '../../serverless.yml'), 'utf8');
  return yaml.load(text, { schema: yaml.DEFAULT_SCHEMA.extend(CfnTags) }) as never;
}

/** serverless.yml's CloudFormation resources: the one description tests build from too. */
export function serverlessResources(): Record<string, { Type: string; Properties: Record<string, unknown> }> {
  return serverlessYml().resources.Resources;
}

/** A number from serverless.yml's `custom` section (maxReceiveCount, dlqVisibilityTimeoutSeconds...). */
export function serverlessSetting(name: string): number {
  return Number(serverlessYml().custom[name]);
}

let counter = 0;

/** Creates a table laid out as serverless.yml's TasksTable (keys and indexes), on demand. */
export async function createTasksTable(aws: LocalAws, tableName: string): Promise<void> {
  const table = serverlessResources().TasksTable!.Properties as unknown as CreateTableCommandInput;
  await aws.dynamo.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: table.AttributeDefinitions,
      KeySchema: table.KeySchema,
      GlobalSecondaryIndexes: table.GlobalSecondaryIndexes,
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

/** Creates a fresh table (from serverless.yml's TasksTable) and the two queues; returns an engine wired to them. */
export async function createTestEngine(
  aws: LocalAws,
  overrides: Partial<EngineConfig> = {},
  queueAttributes: Record<string, string> = {},
  clients: { dynamo?: DynamoDBClient; sqs?: SQSClient; s3?: S3Client } = {},
): Promise<Engine> {
  const suffix = `${process.pid}-${++counter}`;
  const tableName = `tasks-${suffix}`;
  await createTasksTable(aws, tableName);
  const queueUrl = async (name: string) =>
    (await aws.sqs.send(new CreateQueueCommand({ QueueName: `${name}-${suffix}`, Attributes: { VisibilityTimeout: '30', ...queueAttributes } }))).QueueUrl!;
  const config: EngineConfig = {
    stage: 'test',
    tableName,
    queueUrls: { high: await queueUrl('high'), default: await queueUrl('default') },
    retentionDays: 30,
    workerConcurrency: 10,
    workerDeadlineMarginMs: 1_000,
    leaseMarginMs: 60_000,
    dispatchHoldMs: 10_000,
    resolveReserveMs: 5_000,
    ...overrides,
  };
  // A bucket only when asked for (`payloadBucket`): without one, payloads and results stay in the table, up to its limits.
  if (config.payloadBucket) await aws.s3.send(new CreateBucketCommand({ Bucket: config.payloadBucket }));
  return createEngine({
    config,
    store: new TaskStore(createDocumentClient(clients.dynamo ?? aws.dynamo), tableName),
    queue: new TaskQueue(clients.sqs ?? aws.sqs, config.queueUrls),
    objects: objectsOf(config, clients.s3 ?? aws.s3),
  });
}

/** A unique bucket name for a test engine (S3's names: lower case, 3 to 63 characters). */
export function testBucket(): string {
  return `payloads-${process.pid}-${++counter}`;
}

function objectsOf(config: EngineConfig, s3: S3Client): PayloadObjects | undefined {
  return config.payloadBucket ? new PayloadObjects(s3, config.payloadBucket) : undefined;
}

/**
 * A second engine on the same table and queues, with SDK clients of its own and
 * a fault kit on each: another Lambda instance, as AWS would run two.
 */
export function siblingEngine(aws: LocalAws, of: Engine, overrides: Partial<EngineConfig> = {}, timeouts?: CallTimeouts): { engine: Engine; dynamo: FaultKit; sqs: FaultKit; s3: FaultKit } {
  const clients = dedicatedClients(aws, timeouts);
  const config = { ...of.config, ...overrides };
  const engine = createEngine({
    config,
    store: new TaskStore(createDocumentClient(clients.dynamo), config.tableName),
    queue: new TaskQueue(clients.sqs, config.queueUrls),
    objects: objectsOf(config, clients.s3),
  });
  return { engine, dynamo: installFaults(clients.dynamo), sqs: installFaults(clients.sqs), s3: installFaults(clients.s3) };
}
