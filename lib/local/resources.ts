import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { LocalStartupError } from './errors';

/** One CloudFormation resource as serverless.yml declares it (after variable resolution). */
export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

export interface LocalQueue {
  logicalId: string;
  name: string;
  url: string;
  arn: string;
  visibilityTimeoutSeconds: number;
}

export interface LocalTable {
  logicalId: string;
  name: string;
  arn: string;
}

export interface LocalBucket {
  logicalId: string;
  name: string;
  arn: string;
}

/** What the resources became on the local servers; resolves `Ref` and `Fn::GetAtt` to them. */
export interface CreatedResources {
  queues: Map<string, LocalQueue>;
  tables: Map<string, LocalTable>;
  buckets: Map<string, LocalBucket>;
  resolve(value: unknown): unknown;
}

/** Queue attributes that mean something to a local server; encryption and tags do not. */
const QUEUE_ATTRIBUTES = ['DelaySeconds', 'MaximumMessageSize', 'MessageRetentionPeriod', 'ReceiveMessageWaitTimeSeconds', 'VisibilityTimeout'];
/** SQS's default when a queue does not set one. */
const DEFAULT_VISIBILITY_SECONDS = 30;

/**
 * Creates serverless.yml's queues and tables on the local servers: the one
 * description of the system, no second copy. Idempotent, so a restart against
 * a persisted dynalite or an external server finds its resources in place.
 * Dead-letter queues are created before the queues whose redrive names them.
 */
export async function createResources(
  resources: Record<string, CfnResource>,
  clients: { sqs: SQSClient; dynamo: DynamoDBClient; s3?: S3Client },
): Promise<CreatedResources> {
  const queues = new Map<string, LocalQueue>();
  const tables = new Map<string, LocalTable>();
  const buckets = new Map<string, LocalBucket>();
  const created: CreatedResources = { queues, tables, buckets, resolve: (value) => resolveIntrinsics(value, queues, tables, buckets) };

  const queueIds = Object.keys(resources).filter((id) => resources[id]!.Type === 'AWS::SQS::Queue');
  const byRedrive = (id: string) => (resources[id]!.Properties?.RedrivePolicy ? 1 : 0);
  for (const id of queueIds.sort((a, b) => byRedrive(a) - byRedrive(b))) {
    queues.set(id, await createQueue(id, resources[id]!.Properties ?? {}, clients.sqs, created));
  }
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type === 'AWS::DynamoDB::Table') tables.set(id, await createTable(id, resource.Properties ?? {}, clients.dynamo));
    if (resource.Type === 'AWS::S3::Bucket' && clients.s3) buckets.set(id, await createBucket(id, resource.Properties ?? {}, clients.s3));
  }
  return created;
}

/**
 * A bucket: its name if the template gives one, else one made from its
 * logical id (on AWS, CloudFormation names it: S3's names are global).
 * Encryption, public access, policy and lifecycle mean nothing to a local
 * server; objects simply stay until `LOCAL_FRESH=1`, as dynalite's records do.
 */
async function createBucket(logicalId: string, props: Record<string, unknown>, s3: S3Client): Promise<LocalBucket> {
  const name = typeof props.BucketName === 'string' ? props.BucketName : `local-${logicalId.toLowerCase()}`;
  // CreateBucket of a bucket one already owns succeeds (us-east-1) or says so (elsewhere): either way it is there.
  await s3.send(new CreateBucketCommand({ Bucket: name })).catch((error: Error) => {
    if (error.name !== 'BucketAlreadyOwnedByYou') throw error;
  });
  return { logicalId, name, arn: `arn:aws:s3:::${name}` };
}

async function createQueue(logicalId: string, props: Record<string, unknown>, sqs: SQSClient, created: CreatedResources): Promise<LocalQueue> {
  if (typeof props.QueueName !== 'string') {
    throw new LocalStartupError(`Queue ${logicalId} in serverless.yml has no QueueName`, 'give it an explicit QueueName so local and deployed names match');
  }
  if (props.FifoQueue) throw new LocalStartupError(`Queue ${logicalId} is FIFO`, 'the local runtime emulates standard queues only');
  const attributes: Record<string, string> = {};
  for (const name of QUEUE_ATTRIBUTES) if (props[name] !== undefined) attributes[name] = String(props[name]);
  if (props.RedrivePolicy) attributes.RedrivePolicy = JSON.stringify(created.resolve(props.RedrivePolicy));
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: props.QueueName, Attributes: attributes }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn', 'VisibilityTimeout'] }));
  return {
    logicalId,
    name: props.QueueName,
    url: QueueUrl!,
    arn: Attributes!.QueueArn!,
    visibilityTimeoutSeconds: Number(Attributes?.VisibilityTimeout ?? DEFAULT_VISIBILITY_SECONDS),
  };
}

async function createTable(logicalId: string, props: Record<string, unknown>, dynamo: DynamoDBClient): Promise<LocalTable> {
  const input = props as unknown as CreateTableCommandInput;
  if (!input.TableName) throw new LocalStartupError(`Table ${logicalId} in serverless.yml has no TableName`, 'give it an explicit TableName');
  try {
    await dynamo.send(
      new CreateTableCommand({
        TableName: input.TableName,
        AttributeDefinitions: input.AttributeDefinitions,
        KeySchema: input.KeySchema,
        GlobalSecondaryIndexes: input.GlobalSecondaryIndexes,
        LocalSecondaryIndexes: input.LocalSecondaryIndexes,
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  const table = await waitForActive(dynamo, input.TableName);
  const ttl = props.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
  if (ttl?.Enabled && ttl.AttributeName) {
    // Not every DynamoDB-compatible server implements TTL (dynalite does not);
    // records then simply stay, which changes nothing a local user relies on.
    await dynamo
      .send(new UpdateTimeToLiveCommand({ TableName: input.TableName, TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true } }))
      .catch(() => undefined);
  }
  return { logicalId, name: input.TableName, arn: table };
}

async function waitForActive(dynamo: DynamoDBClient, tableName: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE' && (Table.GlobalSecondaryIndexes ?? []).every((g) => g.IndexStatus === 'ACTIVE')) return Table.TableArn!;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new LocalStartupError(`Table ${tableName} did not become ACTIVE`, 'check the DynamoDB endpoint');
}

/** Replaces `Ref` / `Fn::GetAtt` of a created queue, table or bucket with its local URL, name or ARN. */
function resolveIntrinsics(value: unknown, queues: Map<string, LocalQueue>, tables: Map<string, LocalTable>, buckets: Map<string, LocalBucket>): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, queues, tables, buckets));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 1) {
    const [key, arg] = entries[0]!;
    if (key === 'Ref' && typeof arg === 'string') {
      const queue = queues.get(arg);
      const table = tables.get(arg) ?? buckets.get(arg);
      if (queue) return queue.url;
      if (table) return table.name;
    }
    if (key === 'Fn::GetAtt') {
      const [id, attribute] = Array.isArray(arg) ? arg : String(arg).split('.');
      const target = queues.get(String(id)) ?? tables.get(String(id)) ?? buckets.get(String(id));
      if (target && attribute === 'Arn') return target.arn;
      if (target && attribute === 'QueueName' && 'url' in target) return target.name;
      if (target && attribute === 'QueueUrl' && 'url' in target) return target.url;
    }
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, resolveIntrinsics(v, queues, tables, buckets)]));
}
