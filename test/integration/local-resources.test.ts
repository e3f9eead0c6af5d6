import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, ListQueuesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishAttempt } from '../../lib/store/claims';
import { enqueue } from '../../lib/enqueue';
import { processBatch } from '../../lib/worker';
import { localOptions } from '../../lib/local/options';
import { requeueUnfinishedTasks } from '../../lib/local/recovery';
import { createResources, type CfnResource } from '../../lib/local/resources';
import { ensureReachable } from '../../lib/local/servers';
import { flaky, writeLog } from '../../lib/tasks/examples';
import { fromStored } from '../../lib/tracing/storedTrace';
import { createTestEngine, serverlessResources, startLocalAws, type LocalAws } from '../support/aws';
import { claimById } from '../support/drive';
import { lambdaContext, receiveAll } from '../support/events';

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => aws.close());

/** serverless.yml's resources with the Framework's variables filled in the way `npm start` sees them. */
function resources(stage: string): Record<string, CfnResource> {
  const text = JSON.stringify(serverlessResources())
    .replaceAll("${self:custom.tableName}", `background-tasks-${stage}-tasks-v2`)
    .replaceAll('${self:service}', 'background-tasks')
    .replaceAll('${sls:stage}', stage)
    .replaceAll('"${self:custom.visibilityTimeoutSeconds}"', '5400')
    .replaceAll('"${self:custom.dlqVisibilityTimeoutSeconds}"', '360')
    .replaceAll('"${self:custom.maxReceiveCount}"', '50')
    .replaceAll('"${self:custom.taskRetentionDays}"', '30')
    .replace(/"\$\{[^}]+\}"/g, 'null');
  // The YAML loader in test/support keeps CloudFormation tags as {"!Ref": x}; the Framework turns them into Ref / Fn::GetAtt.
  return JSON.parse(text.replaceAll('"!Ref"', '"Ref"').replace(/\{"!GetAtt":"(\w+)\.(\w+)"\}/g, '{"Fn::GetAtt":["$1","$2"]}'));
}

describe('resources from serverless.yml', () => {
  it('creates the queues with their redrive and visibility, and the table with its index and TTL, idempotently', async () => {
    // dynalite has no TTL API, so what is checked is the request: one narrow middleware records it.
    const dynamo = new DynamoDBClient({ endpoint: aws.dynamoEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const ttlRequests: unknown[] = [];
    dynamo.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UpdateTimeToLiveCommand') ttlRequests.push(args.input);
        return next(args);
      },
      { step: 'initialize' },
    );
    const first = await createResources(resources('t1'), { sqs: aws.sqs, dynamo });
    const again = await createResources(resources('t1'), aws);
    expect([...again.queues.values()].map((q) => q.url)).toEqual([...first.queues.values()].map((q) => q.url));

    const high = first.queues.get('HighQueue')!;
    const dlq = first.queues.get('HighDeadLetterQueue')!;
    expect(high.name).toBe('background-tasks-t1-high');
    expect(high.visibilityTimeoutSeconds).toBe(5400);
    const { Attributes } = await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: high.url, AttributeNames: ['RedrivePolicy'] }));
    expect(JSON.parse(Attributes!.RedrivePolicy!)).toEqual({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 50 });

    const table = await aws.dynamo.send(new DescribeTableCommand({ TableName: 'background-tasks-t1-tasks-v2' }));
    expect(table.Table!.GlobalSecondaryIndexes!.map((g) => g.IndexName)).toEqual(['byAttention']);
    expect(table.Table!.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(ttlRequests).toEqual([{ TableName: 'background-tasks-t1-tasks-v2', TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } }]);
    dynamo.destroy();
  });

  it('creates the payload bucket (named from its logical id: on AWS CloudFormation names it), idempotently, and resolves it for the handlers', async () => {
    const first = await createResources(resources('t3'), aws);
    const again = await createResources(resources('t3'), aws);

    expect([...first.buckets.values()]).toEqual([{ logicalId: 'PayloadBucket', name: 'local-payloadbucket', arn: 'arn:aws:s3:::local-payloadbucket' }]);
    expect(again.buckets.get('PayloadBucket')!.name).toBe('local-payloadbucket');
    expect(first.resolve({ PAYLOAD_BUCKET: { Ref: 'PayloadBucket' }, ARN: { 'Fn::GetAtt': ['PayloadBucket', 'Arn'] } })).toEqual({ PAYLOAD_BUCKET: 'local-payloadbucket', ARN: 'arn:aws:s3:::local-payloadbucket' });
    await aws.s3.send(new PutObjectCommand({ Bucket: 'local-payloadbucket', Key: 'payloads/x.json', Body: '{}' }));
  });

  it('resolves Ref and Fn::GetAtt in the handlers environment to local URLs and ARNs', async () => {
    const created = await createResources(resources('t2'), aws);
    const env = created.resolve({
      QUEUE_URL_HIGH: { Ref: 'HighQueue' },
      TABLE: { Ref: 'TasksTable' },
      DLQ_ARN: { 'Fn::GetAtt': ['DefaultDeadLetterQueue', 'Arn'] },
      PLAIN: 'kept',
      OTHER: { Ref: 'NotOurs' },
    });
    expect(env).toEqual({
      QUEUE_URL_HIGH: created.queues.get('HighQueue')!.url,
      TABLE: 'background-tasks-t2-tasks-v2',
      DLQ_ARN: created.queues.get('DefaultDeadLetterQueue')!.arn,
      PLAIN: 'kept',
      OTHER: { Ref: 'NotOurs' },
    });
    expect(created.queues.get('DefaultDeadLetterQueue')!.arn).toMatch(/^arn:aws:sqs:us-east-1:\d+:background-tasks-t2-default-dlq$/);
  });
});

describe('recovery sweep', () => {
  it('sends a fresh message for PENDING, RETRYING and lease-expired RUNNING tasks, none for finished ones', async () => {
    const engine = await createTestEngine(aws);
    const pending = await enqueue(writeLog, { message: 'lost in memory' }, {}, engine);
    const running = await enqueue(flaky, { failTimes: 0, key: 'crashed' }, {}, engine);
    const done = await enqueue(writeLog, { message: 'done' }, {}, engine);
    const retrying = await enqueue(flaky, { failTimes: 1, key: 'backing off' }, {}, engine);
    // Drain what enqueue sent: the queue now holds nothing, as after a restart.
    while ((await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: engine.config.queueUrls.default, MaxNumberOfMessages: 10, VisibilityTimeout: 600 }))).Messages?.length);
    const now = engine.now();
    await claimById(engine, running.taskId, new Date(now.getTime() - 120_000), 60_000); // its lease ended a minute ago
    const claimed = await claimById(engine, done.taskId, now, 60_000);
    await finishAttempt(engine.store, claimed, { attempt: 1, run: 1, startedAt: now.toISOString(), durationMs: 0, outcome: 'succeeded' }, { status: 'SUCCEEDED', resultJson: 'null' }, now);

    const failedOnce = await claimById(engine, retrying.taskId, now, 60_000);
    const error = { type: 'Error', message: 'first attempt' };
    await finishAttempt(engine.store, failedOnce, { attempt: 1, run: 1, startedAt: now.toISOString(), durationMs: 0, outcome: 'failed', error }, { status: 'RETRYING', error, nextAttemptAt: now.getTime() + 2_000 }, now);

    const report = await requeueUnfinishedTasks(engine);
    expect(report).toEqual({ requeued: { PENDING: 1, RETRYING: 1, RUNNING: 1 }, failed: [] });
    const at = Date.now();
    const now1 = await receiveAll(aws.sqs, engine.config.queueUrls.default, 2, 1_000);
    // Each message is for the task's current run, in its trace; the RETRYING one comes when its backoff ends, 2 s after its failure.
    const traceOf = async (taskId: string) => fromStored((await engine.store.getItems(taskId)).task)!.traceparent;
    expect(now1.Records.map((r) => JSON.parse(r.body)).sort((a, b) => (a.taskId < b.taskId ? -1 : 1))).toEqual(
      await Promise.all([pending.taskId, running.taskId].sort().map(async (taskId) => ({ v: 2, taskId, name: expect.any(String), run: 1, traceparent: await traceOf(taskId) }))),
    );
    const later = await receiveAll(aws.sqs, engine.config.queueUrls.default, 1, 5_000);
    expect(later.Records.map((r) => JSON.parse(r.body).taskId)).toEqual([retrying.taskId]);
    expect(Date.now() - at).toBeGreaterThanOrEqual(900);
  });

  it("ends a lease that outlasts SQS's longest delay, so its task is taken over at once; waits out a shorter one", async () => {
    const engine = await createTestEngine(aws);
    const long = await enqueue(flaky, { failTimes: 0, key: 'long lease' }, {}, engine);
    const short = await enqueue(flaky, { failTimes: 0, key: 'short lease' }, {}, engine);
    while ((await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: engine.config.queueUrls.default, MaxNumberOfMessages: 10, VisibilityTimeout: 600 }))).Messages?.length);
    // Both claimed by a process that then died: one lease ends in 16 minutes, past any SQS delay; one in 5.
    await claimById(engine, long.taskId, engine.now(), 960_000);
    await claimById(engine, short.taskId, engine.now(), 300_000);

    expect(await requeueUnfinishedTasks(engine)).toEqual({ requeued: { RUNNING: 2 }, failed: [] });
    const event = await receiveAll(aws.sqs, engine.config.queueUrls.default, 2, 5_000);
    expect(event.Records.map((r) => JSON.parse(r.body).taskId)).toEqual([long.taskId]);
    expect(await processBatch(engine, event, lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(await engine.store.get(long.taskId)).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    expect(await engine.store.get(short.taskId)).toMatchObject({ status: 'RUNNING', attempts: 1 });
  });
});

describe('the startup probe of an AWS_ENDPOINT_URL_* server', () => {
  it('names a server that answers but is not SQS, and does not probe an embedded one', async () => {
    // Something else on that port: answers every request with an HTTP 400.
    const other = createServer((_req, res) => res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' }).end('{"__type":"UnknownOperationException","message":"not here"}'));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    const sqs = new SQSClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    const probe = (abortSignal: AbortSignal) => sqs.send(new ListQueuesCommand({}), { abortSignal });
    let probes = 0;
    try {
      const error = await ensureReachable({ url, embedded: false, close: async () => undefined }, 'SQS', 'AWS_ENDPOINT_URL_SQS', probe).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'LocalStartupError', fix: 'check that AWS_ENDPOINT_URL_SQS points at a SQS-compatible server' });
      expect((error as Error).message).toContain(`SQS at ${url} refused a request`);
      await ensureReachable({ url, embedded: true, close: async () => undefined }, 'SQS', 'AWS_ENDPOINT_URL_SQS', async () => probes++);
      expect(probes).toBe(0);
    } finally {
      sqs.destroy();
      other.closeAllConnections();
      other.close();
    }
  });
});

describe('local options', () => {
  it('defaults to the documented ports and .local, and names a bad variable', () => {
    expect(localOptions({}, '/repo')).toMatchObject({ httpPort: 3000, lambdaPort: 3002, sqsPort: 9324, dynamoPort: 8000, s3Port: 4569, dataDir: '/repo/.local', fresh: false });
    expect(localOptions({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000' }, '/repo')).toMatchObject({ s3Endpoint: 'http://127.0.0.1:9000' });
    expect(() => localOptions({ S3_PORT: '0' }, '/repo')).toThrow(/S3_PORT="0" is not valid/);
    expect(localOptions({ LOCAL_FRESH: '1', AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:9999' }, '/repo')).toMatchObject({ fresh: true, sqsEndpoint: 'http://127.0.0.1:9999' });
    expect(() => localOptions({ SQS_PORT: 'abc' }, '/repo')).toThrow(/SQS_PORT="abc" is not valid/);
    expect(() => localOptions({ LOCAL_FRESH: 'yes' }, '/repo')).toThrow(/LOCAL_FRESH/);
  });

  it('sends spans nowhere, to the console, or to a file in a folder that exists (LOCAL_TRACES)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'traces-'));
    try {
      expect(localOptions({}, dir).traces).toBeUndefined();
      expect(localOptions({ LOCAL_TRACES: 'off' }, dir).traces).toBeUndefined();
      expect(localOptions({ LOCAL_TRACES: ' console ' }, dir).traces).toBe('console');
      expect(localOptions({ LOCAL_TRACES: 'traces.jsonl' }, dir).traces).toBe(join(dir, 'traces.jsonl'));
      expect(() => localOptions({ LOCAL_TRACES: 'missing/traces.jsonl' }, dir)).toThrow('LOCAL_TRACES="missing/traces.jsonl" is not a file this can append to');
      // A folder is not a file to append to.
      expect(() => localOptions({ LOCAL_TRACES: dir }, dir)).toThrow(/is not a file this can append to/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
