/**
 * The floor under `npm start` on the seed route: the same handlers, SDK calls
 * and emulators, without the Lambda and API Gateway emulation. One process
 * serves the api handler over plain HTTP (test/support/httpServer.ts) and runs
 * the worker handler on batches it receives itself, up to the default queue's
 * `maximumConcurrency` at once, with no batching window; dynalite (persisted,
 * as `npm start` keeps it) and local-aws-sqs run in their own process, as
 * `npm start` runs them (lib/local/servers.ts). What `npm start` costs beyond
 * this is serverless-offline's: hapi, worker threads, the event source.
 *
 * Run by bench/compare.ts as a child process (`node --import tsx
 * bench/seedFloor.ts <data dir>`), which stops it with SIGKILL and removes the
 * directory; prints `ready <url>` once it serves. Its api key is
 * test/support/api.ts's TEST_KEY.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { startEndpoints } from '../lib/local/servers';
import { testApi } from '../test/support/api';
import { createTestEngine, type LocalAws } from '../test/support/aws';
import { runOneBatch } from '../test/support/drive';
import { serveLambda } from '../test/support/httpServer';
import { freePorts } from '../test/support/stack';

/** serverless.yml's default queue: the seed's task goes there. */
const DEFAULT_QUEUE_CONCURRENCY = 20;
const region = 'us-east-1';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

async function main(): Promise<void> {
  const [sqsPort, dynamoPort] = await freePorts(2);
  const dataDir = process.argv[2];
  if (!dataDir) throw new Error('usage: node --import tsx bench/seedFloor.ts <data dir>');
  const endpoints = await startEndpoints({ host: '127.0.0.1', region, sqs: { port: sqsPort! }, dynamo: { port: dynamoPort!, dataDir, fresh: true } });
  const dynamo = new DynamoDBClient({ endpoint: endpoints.dynamo.url, region, credentials });
  const sqs = new SQSClient({ endpoint: endpoints.sqs.url, region, credentials });
  const aws: LocalAws = { dynamoEndpoint: endpoints.dynamo.url, sqsEndpoint: endpoints.sqs.url, dynamo, sqs, close: async () => undefined };
  const engine = await createTestEngine(aws);
  const server = await serveLambda(testApi(engine));
  for (let i = 0; i < DEFAULT_QUEUE_CONCURRENCY; i++) {
    void (async () => {
      for (;;) await runOneBatch(engine, aws, engine.config.queueUrls.default, 1);
    })();
  }
  process.stdout.write(`ready ${server.url}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
