import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateTableCommand,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEndpoints, type Endpoint } from '../../lib/local/servers';
import { createS3Client } from '../../lib/payloads/s3Client';
import { freePorts } from '../support/stack';

/**
 * npm start's embedded servers, as it starts them: one child process
 * (lib/local/emulators.cjs) with local-aws-sqs and dynalite, which keeps
 * table descriptions in memory between writes of them.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'emulators-'));
let sqsEndpoint: Endpoint;
let dynamoEndpoint: Endpoint;
let dynamo: DynamoDBClient;
let sqs: SQSClient;
let s3Endpoint: Endpoint;
let s3: S3Client;
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const s3Of = (endpoint: Endpoint) => createS3Client({ endpoint: endpoint.url, region: 'us-east-1', credentials }, { AWS_ENDPOINT_URL_S3: endpoint.url });

beforeAll(async () => {
  const [sqsPort, dynamoPort, s3Port] = await freePorts(3);
  const started = await startEndpoints({
    host: '127.0.0.1',
    region: 'us-east-1',
    sqs: { port: sqsPort! },
    dynamo: { port: dynamoPort!, dataDir, fresh: true },
    s3: { port: s3Port!, credentials: { local: 'local' } },
  });
  ({ sqs: sqsEndpoint, dynamo: dynamoEndpoint } = started);
  s3Endpoint = started.s3!;
  dynamo = new DynamoDBClient({ endpoint: dynamoEndpoint.url });
  sqs = new SQSClient({ endpoint: sqsEndpoint.url });
  s3 = s3Of(s3Endpoint);
});
afterAll(async () => {
  s3?.destroy();
  await sqsEndpoint?.close();
  await dynamoEndpoint?.close();
  await s3Endpoint?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const table = (name: string, billing: Partial<CreateTableCommandInput> = { BillingMode: 'PAY_PER_REQUEST' }) =>
  new CreateTableCommand({
    TableName: name,
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    ...billing,
  });

/** Waits until the table is ACTIVE, as any DynamoDB client must after creating or updating one. */
async function active(name: string): Promise<void> {
  for (const until = Date.now() + 5_000; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
    const status = await dynamo.send(new DescribeTableCommand({ TableName: name })).then((d) => d.Table?.TableStatus, () => undefined);
    if (status === 'ACTIVE') return;
  }
  throw new Error(`table ${name} did not become ACTIVE`);
}

async function gone(name: string): Promise<void> {
  for (const until = Date.now() + 5_000; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
    const exists = await dynamo.send(new DescribeTableCommand({ TableName: name })).then(() => true, () => false);
    if (!exists) return;
  }
  throw new Error(`table ${name} was not deleted`);
}

describe('embedded servers (child process)', () => {
  it('serves SQS and DynamoDB to the real SDK clients', async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'emulated' }));
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'hello' }));
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }))).Messages?.[0]?.Body).toBe('hello');

    await dynamo.send(table('items'));
    await active('items');
    await dynamo.send(new PutItemCommand({ TableName: 'items', Item: { pk: { S: 'a' }, n: { N: '1' } } }));
    expect((await dynamo.send(new GetItemCommand({ TableName: 'items', Key: { pk: { S: 'a' } } }))).Item).toEqual({ pk: { S: 'a' }, n: { N: '1' } });
  });

  it('sees every change to a table: its throughput updated, the table deleted and made again', async () => {
    const throughput = async () => {
      const { ProvisionedThroughput: p } = (await dynamo.send(new DescribeTableCommand({ TableName: 'changing' }))).Table!;
      return [p?.ReadCapacityUnits, p?.WriteCapacityUnits];
    };
    await dynamo.send(table('changing', { ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 } }));
    await active('changing');
    await dynamo.send(new PutItemCommand({ TableName: 'changing', Item: { pk: { S: 'a' } } }));
    expect(await throughput()).toEqual([1, 1]);

    await dynamo.send(new UpdateTableCommand({ TableName: 'changing', ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 7 } }));
    await active('changing');
    expect(await throughput()).toEqual([5, 7]);

    await dynamo.send(new DeleteTableCommand({ TableName: 'changing' }));
    await gone('changing');
    await expect(dynamo.send(new GetItemCommand({ TableName: 'changing', Key: { pk: { S: 'a' } } }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });

    await dynamo.send(table('changing', { ProvisionedThroughput: { ReadCapacityUnits: 2, WriteCapacityUnits: 3 } }));
    await active('changing');
    expect((await dynamo.send(new GetItemCommand({ TableName: 'changing', Key: { pk: { S: 'a' } } }))).Item).toBeUndefined();
    expect(await throughput()).toEqual([2, 3]);
  });

  it('keeps DynamoDB data and S3 objects across a restart, and stops its process on close', async () => {
    await dynamo.send(table('durable'));
    await active('durable');
    await dynamo.send(new PutItemCommand({ TableName: 'durable', Item: { pk: { S: 'kept' } } }));
    await s3.send(new CreateBucketCommand({ Bucket: 'durable-objects' }));
    await s3.send(new PutObjectCommand({ Bucket: 'durable-objects', Key: 'payloads/kept.json', Body: '{"kept":true}' }));
    await sqsEndpoint.close();
    await dynamoEndpoint.close();
    await s3Endpoint.close();
    await expect(dynamo.send(new DescribeTableCommand({ TableName: 'durable' }))).rejects.toThrow();

    const [sqsPort, dynamoPort, s3Port] = await freePorts(3);
    const restarted = await startEndpoints({
      host: '127.0.0.1',
      region: 'us-east-1',
      sqs: { port: sqsPort! },
      dynamo: { port: dynamoPort!, dataDir, fresh: false },
      s3: { port: s3Port!, credentials: { local: 'local' } },
    });
    ({ sqs: sqsEndpoint, dynamo: dynamoEndpoint } = restarted);
    s3Endpoint = restarted.s3!;
    dynamo = new DynamoDBClient({ endpoint: dynamoEndpoint.url });
    s3 = s3Of(s3Endpoint);
    expect((await dynamo.send(new GetItemCommand({ TableName: 'durable', Key: { pk: { S: 'kept' } } }))).Item).toEqual({ pk: { S: 'kept' } });
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'durable-objects', Key: 'payloads/kept.json' }))).Body!.transformToString()).toBe('{"kept":true}');
  });

  it('uses the S3 server AWS_ENDPOINT_URL_S3 names instead of its own', async () => {
    const [sqsPort, dynamoPort] = await freePorts(2);
    const pointed = await startEndpoints({
      host: '127.0.0.1',
      region: 'us-east-1',
      sqs: { port: sqsPort! },
      dynamo: { port: dynamoPort!, dataDir: join(dataDir, 'pointed'), fresh: true },
      s3: { override: s3Endpoint.url, port: 1, credentials: {} },
    });
    try {
      expect(pointed.s3).toMatchObject({ url: s3Endpoint.url, embedded: false });
    } finally {
      await pointed.sqs.close();
    }
  });

  it('says which port is taken, with the variable that moves it', async () => {
    const [dynamoPort] = await freePorts(1);
    const taken = sqsEndpoint.url.split(':').at(-1)!;
    await expect(
      startEndpoints({ host: '127.0.0.1', region: 'us-east-1', sqs: { port: Number(taken) }, dynamo: { port: dynamoPort!, dataDir: join(dataDir, 'other'), fresh: true } }),
    ).rejects.toThrow(/SQS_PORT/);
  });
});
