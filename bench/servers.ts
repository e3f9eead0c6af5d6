import { CreateTableCommand, DynamoDBClient, GetItemCommand, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { createSqsServer } from 'local-aws-sqs';
import { createDocumentClient } from '../lib/clients';
import { createEngine, type Engine } from '../lib/engine';
import { TaskQueue } from '../lib/queue';
import { TaskStore } from '../lib/store/taskStore';
import { fillDynaliteGaps } from '../lib/local/dynaliteGaps.cjs';
import { serverlessResources } from '../test/support/aws';
import { CapacityMeter, tableSchema } from '../test/support/capacity';

const METER_AGENT = 'capacity-meter';

/** Requests seen by the servers, by API action (read off x-amz-target, as the servers themselves route). */
export class RequestCounter {
  readonly counts = new Map<string, number>();
  attach(server: Server): void {
    server.prependListener('request', (req) => {
      // The capacity meter's own reads are not the system's requests.
      if (String(req.headers['user-agent'] ?? '').includes(METER_AGENT)) return;
      const target = String(req.headers['x-amz-target'] ?? 'unknown').split('.').at(-1)!;
      this.counts.set(target, (this.counts.get(target) ?? 0) + 1);
    });
  }
  reset(): void {
    this.counts.clear();
  }
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort());
  }
}

export interface BenchAws {
  dynamo: DynamoDBClient;
  sqs: SQSClient;
  dynamoCounter: RequestCounter;
  sqsCounter: RequestCounter;
  engine: Engine;
  /** The same engine on a DynamoDB client whose every call `meter` prices (slower: it reads each written item twice). */
  metered: Engine;
  meter: CapacityMeter;
  /** An item, read without being metered. */
  observerGet(key: { pk: string; sk: string }): Promise<Record<string, unknown> | undefined>;
  /** Points the engines at new, empty queues (SQS allows one purge a minute, as AWS does). */
  freshQueues(): Promise<void>;
  close(): Promise<void>;
}

/** In-memory dynalite and local-aws-sqs with request counters, the table from serverless.yml, and an engine on them. */
export async function startBenchAws(): Promise<BenchAws> {
  // What DynamoDB does and dynalite does not (the item of a refused conditional write), as npm start and the tests have it.
  fillDynaliteGaps();
  const dynamoServer = dynalite({ createTableMs: 0 });
  await new Promise<void>((r) => dynamoServer.listen(0, '127.0.0.1', () => r()));
  const sqsServer = (await createSqsServer({ port: 0, hostname: '127.0.0.1' })) as unknown as Server;
  const dynamoCounter = new RequestCounter();
  const sqsCounter = new RequestCounter();
  dynamoCounter.attach(dynamoServer);
  sqsCounter.attach(sqsServer);
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const dynamoEndpoint = `http://127.0.0.1:${(dynamoServer.address() as AddressInfo).port}`;
  const dynamo = new DynamoDBClient({ endpoint: dynamoEndpoint, region: 'us-east-1', credentials });
  const meteredDynamo = new DynamoDBClient({ endpoint: dynamoEndpoint, region: 'us-east-1', credentials });
  const observer = new DynamoDBClient({ endpoint: dynamoEndpoint, region: 'us-east-1', credentials, customUserAgent: METER_AGENT });
  const meter = new CapacityMeter(tableSchema('bench-tasks', serverlessResources().TasksTable!), observer);
  meter.attach(meteredDynamo);
  const sqs = new SQSClient({ endpoint: `http://127.0.0.1:${(sqsServer.address() as AddressInfo).port}`, region: 'us-east-1', credentials });
  const table = serverlessResources().TasksTable!.Properties as unknown as CreateTableCommandInput;
  await dynamo.send(new CreateTableCommand({ ...table, TableName: 'bench-tasks', TimeToLiveSpecification: undefined, PointInTimeRecoverySpecification: undefined, SSESpecification: undefined } as CreateTableCommandInput));
  let generation = 0;
  const url = async (name: string) => (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-${generation}`, Attributes: { VisibilityTimeout: '30' } }))).QueueUrl!;
  const queueUrls = { high: await url('bench-high'), default: await url('bench-default') };
  const engine = createEngine({
    config: { stage: 'bench', tableName: 'bench-tasks', queueUrls, retentionDays: 30, workerConcurrency: 10, workerDeadlineMarginMs: 5_000, leaseMarginMs: 60_000, dispatchHoldMs: 10_000, resolveReserveMs: 5_000 },
    store: new TaskStore(createDocumentClient(dynamo), 'bench-tasks'),
    queue: new TaskQueue(sqs, queueUrls),
  });
  const metered: Engine = { ...engine, store: new TaskStore(createDocumentClient(meteredDynamo), 'bench-tasks') };
  return {
    dynamo,
    sqs,
    dynamoCounter,
    sqsCounter,
    engine,
    metered,
    meter,
    async observerGet(key) {
      const out = await dynamo.send(new GetItemCommand({ TableName: 'bench-tasks', Key: marshall(key), ConsistentRead: true }));
      return out.Item && unmarshall(out.Item);
    },
    async freshQueues() {
      generation++;
      engine.config = { ...engine.config, queueUrls: { high: await url('bench-high'), default: await url('bench-default') } };
      engine.queue = new TaskQueue(sqs, engine.config.queueUrls);
      metered.config = engine.config;
      metered.queue = engine.queue;
    },
    async close() {
      dynamo.destroy();
      meteredDynamo.destroy();
      observer.destroy();
      sqs.destroy();
      await new Promise((r) => dynamoServer.close(r));
      await new Promise((r) => sqsServer.close(r));
    },
  };
}
