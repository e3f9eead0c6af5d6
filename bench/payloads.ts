import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { AddressInfo } from 'node:net';
import { PayloadObjects } from '../lib/payloads/objectStore';
import { createS3Client } from '../lib/payloads/s3Client';
import { createS3Server } from '../lib/payloads/s3Server.cjs';
import { marshall } from '@aws-sdk/util-dynamodb';
import { payloadKey, stateKey, taskKey } from '../lib/store/items';
import { itemSize } from '../test/support/capacity';
import { ASSUMPTIONS, costPerMillion, PRICES } from './cost';
import { measureTasks, type TaskCost } from './requests';
import type { BenchAws } from './servers';

/** The sizes `npm run bench` prices: a small payload, the old limit, the new one. */
export const PAYLOAD_SIZES = [1024, 256 * 1024, 5 * 1024 * 1024] as const;

/** S3 Standard, us-east-1: requests per million, storage per GB-month; DynamoDB's storage per GB-month. */
export const STORAGE_PRICES = {
  s3PutPerMillion: 5.0,
  s3GetPerMillion: 0.4,
  s3GbMonth: 0.023,
  dynamoGbMonth: 0.25,
  /** DynamoDB counts 100 bytes of overhead per item stored. */
  dynamoItemOverheadBytes: 100,
};

/** Lambda's throughput to and from S3, for the time a function spends moving a payload or result (an assumption: S3 from Lambda gives ~100 MB/s per connection). */
const S3_MB_PER_SECOND = 100;

export interface PayloadCost {
  payloadBytes: number;
  measured: TaskCost;
  s3: { puts: number; gets: number; storedBytes: number };
  dynamoStoredBytes: number;
  usdPerMillion: { httpApi: number; lambda: number; sqs: number; dynamodb: number; dynamoStorage: number; s3Requests: number; s3Storage: number; total: number };
}

/**
 * Dollars per million tasks enqueued with POST /tasks whose payload is
 * `bytes` of JSON and whose result is small, run to SUCCEEDED on the local
 * servers with a bucket: DynamoDB units by its rules, SQS requests and S3
 * requests as the servers saw them, and storage for the retention (30 days)
 * of what stays: the items' bytes in DynamoDB, the objects' in S3.
 */
export async function measurePayloadCost(aws: BenchAws, bytes: number, tasks: number): Promise<PayloadCost> {
  const counts = new Map<string, number>();
  const server = createS3Server({ credentials: { local: 'local' } });
  let stored = 0;
  server.prependListener('request', (req) => {
    const method = String(req.method);
    counts.set(method, (counts.get(method) ?? 0) + 1);
    if (method === 'PUT') stored += Number(req.headers['content-length'] ?? 0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const s3 = createS3Client({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }, { AWS_ENDPOINT_URL_S3: endpoint });
  await s3.send(new CreateBucketCommand({ Bucket: 'bench-payloads' }));
  counts.clear();
  stored = 0;
  const before = aws.metered.objects;
  aws.metered.objects = new PayloadObjects(s3, 'bench-payloads');
  try {
    const measured = await measureTasks(aws, 'single', tasks, bytes);
    const puts = (counts.get('PUT') ?? 0) / tasks;
    const gets = (counts.get('GET') ?? 0) / tasks;
    const storedBytes = stored / tasks;
    // What stays in the table per task: a definition (with a payload of up to 4 KB), a payload item (4 to 6 KB), the state.
    const dynamoStoredBytes = await storedItemBytes(aws, measured.sampleTaskId);
    const months = 30 / 30.44;
    const gb = (b: number) => b / 1024 ** 3;
    const base = costPerMillion('single', measured);
    const transferSeconds = (storedBytes * 2) / (S3_MB_PER_SECOND * 1024 * 1024);
    const lambda = base.lambda + transferSeconds * ASSUMPTIONS.lambdaMemoryGb * PRICES.lambdaArmGbSecond * 1e6;
    const dynamoStorage = gb(dynamoStoredBytes) * STORAGE_PRICES.dynamoGbMonth * months * 1e6;
    const s3Requests = puts * STORAGE_PRICES.s3PutPerMillion + gets * STORAGE_PRICES.s3GetPerMillion;
    const s3Storage = gb(storedBytes) * STORAGE_PRICES.s3GbMonth * months * 1e6;
    const usd = { httpApi: base.httpApi, lambda, sqs: base.sqs, dynamodb: base.dynamodb, dynamoStorage, s3Requests, s3Storage, total: 0 };
    usd.total = usd.httpApi + usd.lambda + usd.sqs + usd.dynamodb + usd.dynamoStorage + usd.s3Requests + usd.s3Storage;
    return { payloadBytes: bytes, measured, s3: { puts, gets, storedBytes }, dynamoStoredBytes, usdPerMillion: usd };
  } finally {
    aws.metered.objects = before;
    s3.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

/** The bytes a finished task keeps in the table for its retention: each of its items' size, plus DynamoDB's 100 bytes per item. */
async function storedItemBytes(aws: BenchAws, taskId: string): Promise<number> {
  let total = 0;
  for (const key of [taskKey(taskId), payloadKey(taskId), stateKey(taskId)]) {
    const item = await aws.observerGet(key);
    if (item) total += itemSize(marshall(item, { removeUndefinedValues: true })) + STORAGE_PRICES.dynamoItemOverheadBytes;
  }
  return total;
}
