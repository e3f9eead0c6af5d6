/**
 * The floor under `npm start` on the seed route: the same handlers, SDK calls
 * and emulators, without the Lambda and API Gateway emulation. One process
 * serves the api handler over plain HTTP (test/support/httpServer.ts) and runs
 * the worker handler, on SDK clients of its own as another Lambda would, on
 * batches it receives itself: up to the default queue's `maximumConcurrency`
 * receives at once, each of up to 10 messages waiting up to 1 s for them (the
 * queue's batching window). dynalite (persisted, as `npm start` keeps it) and
 * local-aws-sqs run in their own process, as `npm start` runs them
 * (lib/local/servers.ts). What `npm start` costs beyond this is
 * serverless-offline's: hapi, worker threads, the event source.
 *
 * Run by bench/compare.ts as a child process (`node --import tsx
 * bench/seedFloor.ts <data dir>`), which stops it with SIGKILL and removes the
 * directory; it also exits when its stdin closes (its parent gone). Prints
 * `ready <url>` once it serves. Its api key is test/support/api.ts's TEST_KEY.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createDocumentClient } from '../lib/clients';
import { createEngine, type Engine } from '../lib/engine';
import { startEndpoints } from '../lib/local/servers';
import { TaskQueue } from '../lib/queue';
import { TaskStore } from '../lib/store/taskStore';
import { testApi } from '../test/support/api';
import { createTestEngine, type LocalAws } from '../test/support/aws';
import { runOneBatch } from '../test/support/drive';
import { serveLambda } from '../test/support/httpServer';
import { freePorts } from '../test/support/stack';

/** serverless.yml's default queue (its worker's maximumConcurrency and batching window): the seed's task goes there. */
const DEFAULT_QUEUE_CONCURRENCY = 20;
const BATCHING_WINDOW_SECONDS = 1;
const region = 'us-east-1';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

async function main(): Promise<void> {
  const [sqsPort, dynamoPort] = await freePorts(2);
  const dataDir = process.argv[2];
  if (!dataDir) throw new Error('usage: node --import tsx bench/seedFloor.ts <data dir>');
  const endpoints = await startEndpoints({ host: '127.0.0.1', region, sqs: { port: sqsPort! }, dynamo: { port: dynamoPort!, dataDir, fresh: true } });
  const clients = (): LocalAws => ({
    dynamoEndpoint: endpoints.dynamo.url,
    sqsEndpoint: endpoints.sqs.url,
    // The seed's tasks carry small payloads: no bucket (createTestEngine makes none unless asked).
    s3Endpoint: '',
    dynamo: new DynamoDBClient({ endpoint: endpoints.dynamo.url, region, credentials }),
    sqs: new SQSClient({ endpoint: endpoints.sqs.url, region, credentials }),
    s3: undefined as never,
    close: async () => undefined,
  });
  const api: LocalAws = clients();
  const engine = await createTestEngine(api);
  const server = await serveLambda(testApi(engine));
  const worker: LocalAws = clients();
  const workerEngine = createEngine({ config: engine.config, store: new TaskStore(createDocumentClient(worker.dynamo), engine.config.tableName), queue: new TaskQueue(worker.sqs, engine.config.queueUrls) });
  for (let i = 0; i < DEFAULT_QUEUE_CONCURRENCY; i++) void poll(workerEngine, worker);
  process.stdin.on('close', () => process.exit(0)).resume();
  process.stdout.write(`ready ${server.url}\n`);
}

/** One of the event source's pollers: receive, run the worker, delete what it acknowledged; a failed round is logged and tried again a second later. */
async function poll(engine: Engine, aws: LocalAws): Promise<void> {
  for (;;) {
    try {
      await runOneBatch(engine, aws, engine.config.queueUrls.default, BATCHING_WINDOW_SECONDS);
    } catch (error) {
      console.error('seed floor: a poll failed; trying again in 1 s', error);
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
