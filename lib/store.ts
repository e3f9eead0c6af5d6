import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { DependencyUnavailableError, TaskNotFoundError, TaskStateConflictError } from './errors';
import { decodeCursor, encodeCursor, shardOf, statusShardKeys } from './keys';
import { TASK_STATUSES, type AttemptRecord, type TaskError, type TaskRecord, type TaskStatus } from './types';

/** The last this many attempts are kept on a record. */
export const ATTEMPT_LOG_LIMIT = 25;
const STATUS_INDEX = 'byStatus';

/** What the worker's claim found. Only `claimed` may run the handler. */
export type ClaimResult =
  | { outcome: 'claimed'; record: TaskRecord }
  | { outcome: 'missing' }
  /** Terminal, or running under a live lease: a duplicate delivery to acknowledge and skip. */
  | { outcome: 'skip'; record: TaskRecord }
  /** Its lease expired on its last allowed attempt: nothing left to run. */
  | { outcome: 'exhausted'; record: TaskRecord };

export interface ListQuery {
  status?: TaskStatus;
  name?: string;
  limit: number;
  cursor?: string;
}

export interface IdempotencyMarker {
  taskId: string;
  requestHash: string;
}

/** A stored item: the record, with payload and result as JSON text (no 32-level nesting cap, no number drift). */
type StoredItem = Omit<TaskRecord, 'payload' | 'result'> & {
  payloadJson: string;
  resultJson?: string;
  statusShard: string;
};

const IDEMPOTENCY_PREFIX = 'idem#';

/** DynamoDB access for task records. The only place that knows DynamoDB's names and errors. */
export class TaskStore {
  constructor(
    /** Exposed for read-only views built beside the store (stats); writes go through the methods. */
    readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  /** Writes a new PENDING record; false if a record with that id already exists. */
  async create(record: TaskRecord): Promise<boolean> {
    try {
      await this.call('PutItem', () =>
        this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: toItem(record),
            ConditionExpression: 'attribute_not_exists(taskId)',
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * Writes new records, 25 per BatchWriteItem, in parallel, retrying what
   * DynamoDB leaves unprocessed. Returns the ids that could not be written.
   * (Ids are fresh ULIDs, so the unconditional batch put cannot overwrite.)
   */
  async createMany(records: TaskRecord[]): Promise<Map<string, DependencyUnavailableError>> {
    const failed = new Map<string, DependencyUnavailableError>();
    const chunks: TaskRecord[][] = [];
    for (let i = 0; i < records.length; i += 25) chunks.push(records.slice(i, i + 25));
    await Promise.all(
      chunks.map(async (chunk) => {
        let pending = chunk.map((r) => ({ PutRequest: { Item: toItem(r) as Record<string, unknown> } }));
        try {
          for (let round = 0; pending.length > 0 && round < 4; round++) {
            if (round > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** round));
            const out = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }));
            pending = (out.UnprocessedItems?.[this.tableName] ?? []) as typeof pending;
          }
          for (const p of pending) failed.set(String(p.PutRequest.Item.taskId), new DependencyUnavailableError('dynamodb', 'BatchWriteItem', 'left unprocessed'));
        } catch (cause) {
          const error = new DependencyUnavailableError('dynamodb', 'BatchWriteItem', cause);
          for (const p of pending) failed.set(String(p.PutRequest.Item.taskId), error);
        }
      }),
    );
    return failed;
  }

  /** The record, read consistently, or undefined. */
  async get(taskId: string): Promise<TaskRecord | undefined> {
    const out = await this.call('GetItem', () =>
      this.client.send(new GetCommand({ TableName: this.tableName, Key: { taskId }, ConsistentRead: true })),
    );
    return out.Item && !isMarker(out.Item) ? fromItem(out.Item as StoredItem) : undefined;
  }

  /** Removes a record that never started: the compensation when its message could not be sent. */
  async deleteUnstarted(taskId: string): Promise<void> {
    await this.call('DeleteItem', () =>
      this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { taskId },
          ConditionExpression: '#s = :pending AND attempts = :zero',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':pending': 'PENDING', ':zero': 0 },
        }),
      ),
    ).catch((error: unknown) => {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    });
  }

  /** Records the first use of an idempotency key; returns the existing marker if it was used before. */
  async putIdempotencyMarker(key: string, marker: IdempotencyMarker, expiresAt: number): Promise<IdempotencyMarker | undefined> {
    const markerId = IDEMPOTENCY_PREFIX + key;
    try {
      await this.call('PutItem', () =>
        this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { taskId: markerId, kind: 'idempotency', targetTaskId: marker.taskId, requestHash: marker.requestHash, expiresAt },
            ConditionExpression: 'attribute_not_exists(taskId)',
          }),
        ),
      );
      return undefined;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const out = await this.call('GetItem', () =>
      this.client.send(new GetCommand({ TableName: this.tableName, Key: { taskId: markerId }, ConsistentRead: true })),
    );
    if (!out.Item) return this.putIdempotencyMarker(key, marker, expiresAt); // expired between the two calls
    return { taskId: String(out.Item.targetTaskId), requestHash: String(out.Item.requestHash) };
  }

  /**
   * Claims a task for one attempt with a single conditional write: PENDING or
   * RETRYING, or RUNNING whose lease has expired, becomes RUNNING with
   * attempts + 1. This is what makes a handler run at most once per attempt.
   */
  async claim(taskId: string, now: Date, leaseMs: number): Promise<ClaimResult> {
    const nowMs = now.getTime();
    try {
      const out = await this.call('UpdateItem', () =>
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { taskId },
            UpdateExpression:
              'SET #s = :running, statusShard = :shard, attempts = attempts + :one, leaseExpiresAt = :lease, ' +
              'updatedAt = :now, startedAt = if_not_exists(startedAt, :now), attemptStartedAt = :now',
            ConditionExpression:
              'attribute_exists(taskId) AND attempts < maxAttempts AND ' +
              '(#s IN (:pending, :retrying) OR (#s = :running AND leaseExpiresAt < :nowMs))',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: {
              ':running': 'RUNNING',
              ':pending': 'PENDING',
              ':retrying': 'RETRYING',
              ':shard': `RUNNING#${shardOf(taskId)}`,
              ':one': 1,
              ':lease': nowMs + leaseMs,
              ':now': now.toISOString(),
              ':nowMs': nowMs,
            },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return { outcome: 'claimed', record: fromItem(out.Attributes as StoredItem) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const record = await this.get(taskId);
    if (!record) return { outcome: 'missing' };
    const liveLease = record.status === 'RUNNING' && (record.leaseExpiresAt ?? 0) >= nowMs;
    if (record.status === 'PENDING' || record.status === 'RETRYING' || (record.status === 'RUNNING' && !liveLease)) {
      return { outcome: 'exhausted', record };
    }
    return { outcome: 'skip', record };
  }

  /**
   * Records the end of an attempt. The write only lands if this attempt still
   * owns the task (RUNNING with the same attempt number), so an attempt whose
   * lease was taken over can never overwrite its successor's outcome.
   * Returns false when it did not own the task any more.
   */
  async finishAttempt(
    claimed: TaskRecord,
    entry: AttemptRecord,
    next: { status: 'SUCCEEDED'; result: unknown } | { status: 'RETRYING' | 'FAILED'; error: TaskError },
    now: Date,
  ): Promise<boolean> {
    const attemptLog = [...claimed.attemptLog, entry].slice(-ATTEMPT_LOG_LIMIT);
    const terminal = next.status !== 'RETRYING';
    const values: Record<string, unknown> = {
      ':status': next.status,
      ':shard': `${next.status}#${shardOf(claimed.taskId)}`,
      ':log': attemptLog,
      ':now': now.toISOString(),
      ':duration': entry.durationMs,
      ':running': 'RUNNING',
      ':attempt': claimed.attempts,
    };
    let update = 'SET #s = :status, statusShard = :shard, attemptLog = :log, updatedAt = :now, durationMs = :duration';
    if (terminal) update += ', finishedAt = :now';
    if (next.status === 'SUCCEEDED') {
      update += ', resultJson = :result';
      values[':result'] = JSON.stringify(next.result ?? null);
    } else {
      update += ', #e = :error';
      values[':error'] = next.error;
    }
    update += ' REMOVE leaseExpiresAt, attemptStartedAt';
    try {
      await this.call('UpdateItem', () =>
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { taskId: claimed.taskId },
            UpdateExpression: update,
            ConditionExpression: '#s = :running AND attempts = :attempt',
            ExpressionAttributeNames: { '#s': 'status', ...(next.status === 'SUCCEEDED' ? {} : { '#e': 'error' }) },
            ExpressionAttributeValues: values,
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * Marks a task FAILED from outside an attempt (poison message, dead letter,
   * lease expired on the last attempt). Terminal records are left as they are.
   */
  async markFailed(taskId: string, error: TaskError, now: Date): Promise<TaskRecord | undefined> {
    try {
      const out = await this.call('UpdateItem', () =>
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { taskId },
            UpdateExpression:
              'SET #s = :failed, statusShard = :shard, #e = :error, finishedAt = :now, updatedAt = :now REMOVE leaseExpiresAt, attemptStartedAt',
            ConditionExpression: 'attribute_exists(statusShard) AND NOT #s IN (:succeeded, :failed, :cancelled)',
            ExpressionAttributeNames: { '#s': 'status', '#e': 'error' },
            ExpressionAttributeValues: {
              ':failed': 'FAILED',
              ':succeeded': 'SUCCEEDED',
              ':cancelled': 'CANCELLED',
              ':shard': `FAILED#${shardOf(taskId)}`,
              ':error': error,
              ':now': now.toISOString(),
            },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return fromItem(out.Attributes as StoredItem);
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return undefined;
      throw e;
    }
  }

  /** PENDING or RETRYING → CANCELLED; the queued message is skipped when it arrives. */
  async cancel(taskId: string, now: Date): Promise<TaskRecord> {
    return this.transition(taskId, 'cancel', ['PENDING', 'RETRYING'], 'CANCELLED', now, 'SET finishedAt = :now');
  }

  /** FAILED or CANCELLED → PENDING with a fresh budget of attempts; history is kept. */
  async resetForRetry(taskId: string, now: Date): Promise<TaskRecord> {
    return this.transition(taskId, 'retry', ['FAILED', 'CANCELLED'], 'PENDING', now, 'SET attempts = :zero, retriedAt = :now REMOVE finishedAt, #e, resultJson', {
      ':zero': 0,
    });
  }

  /** Puts a task back to where resetForRetry found it, when its message could not be sent. */
  async undoRetry(before: TaskRecord, now: Date): Promise<void> {
    await this.call('PutItem', () =>
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...toItem(before), updatedAt: now.toISOString() },
          ConditionExpression: '#s = :pending AND attempts = :zero',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':pending': 'PENDING', ':zero': 0 },
        }),
      ),
    ).catch((error: unknown) => {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    });
  }

  /** Lists tasks newest first, merging the status index's shards; the cursor is opaque to clients. */
  async list(query: ListQuery): Promise<{ items: TaskRecord[]; nextCursor?: string }> {
    const before = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const statuses = query.status ? [query.status] : [...TASK_STATUSES];
    const streams = statuses.flatMap(statusShardKeys).map((key) => new ShardStream(this, key, before, query.name, query.limit));
    const items: TaskRecord[] = [];
    while (items.length < query.limit) {
      await Promise.all(streams.filter((s) => s.needsFetch()).map((s) => s.fetch()));
      let best: ShardStream | undefined;
      for (const s of streams) {
        const head = s.head();
        if (head && (!best || head.taskId > best.head()!.taskId)) best = s;
      }
      if (!best) break;
      items.push(best.take());
    }
    const more = streams.some((s) => s.hasMore());
    const last = items.at(-1);
    return { items, nextCursor: more && last ? encodeCursor(last.taskId) : undefined };
  }

  /** One page of one status shard, newest first. Used by ShardStream. */
  async queryShard(
    key: string,
    before: string | undefined,
    name: string | undefined,
    limit: number,
    startKey: Record<string, unknown> | undefined,
  ): Promise<{ items: TaskRecord[]; lastKey?: Record<string, unknown> }> {
    const values: Record<string, unknown> = { ':k': key };
    if (before) values[':before'] = before;
    if (name) values[':name'] = name;
    const out = await this.call('Query', () =>
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: STATUS_INDEX,
          KeyConditionExpression: before ? 'statusShard = :k AND taskId < :before' : 'statusShard = :k',
          FilterExpression: name ? '#n = :name' : undefined,
          ExpressionAttributeNames: name ? { '#n': 'name' } : undefined,
          ExpressionAttributeValues: values,
          ScanIndexForward: false,
          Limit: limit,
          ExclusiveStartKey: startKey,
        }),
      ),
    );
    return { items: (out.Items ?? []).map((i) => fromItem(i as StoredItem)), lastKey: out.LastEvaluatedKey };
  }

  private async transition(
    taskId: string,
    action: string,
    from: TaskStatus[],
    to: TaskStatus,
    now: Date,
    extra: string,
    extraValues: Record<string, unknown> = {},
  ): Promise<TaskRecord> {
    const [setPart, removePart] = extra.split(' REMOVE ');
    const fromValues = Object.fromEntries(from.map((s, i) => [`:from${i}`, s]));
    const update = `SET #s = :to, statusShard = :shard, updatedAt = :now, ${setPart!.replace(/^SET /, '')}${removePart ? ` REMOVE ${removePart}` : ''}`;
    try {
      const out = await this.call('UpdateItem', () =>
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { taskId },
            UpdateExpression: update,
            ConditionExpression: `attribute_exists(statusShard) AND #s IN (${Object.keys(fromValues).join(', ')})`,
            ExpressionAttributeNames: { '#s': 'status', ...(update.includes('#e') ? { '#e': 'error' } : {}) },
            ExpressionAttributeValues: { ':to': to, ':shard': `${to}#${shardOf(taskId)}`, ':now': now.toISOString(), ...fromValues, ...extraValues },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return fromItem(out.Attributes as StoredItem);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const current = await this.get(taskId);
    if (!current) throw new TaskNotFoundError(taskId);
    throw new TaskStateConflictError(taskId, current.status, action);
  }

  /** Runs one SDK call; a conditional failure passes through for the caller, anything else becomes a DependencyUnavailableError. */
  private async call<T>(action: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw error;
      throw new DependencyUnavailableError('dynamodb', action, error);
    }
  }
}

/** A lazily paged, newest-first view of one status shard, for the k-way merge in list(). */
class ShardStream {
  private buffer: TaskRecord[] = [];
  private lastKey: Record<string, unknown> | undefined;
  private exhausted = false;

  constructor(
    private readonly store: TaskStore,
    private readonly key: string,
    private readonly before: string | undefined,
    private readonly name: string | undefined,
    private readonly pageSize: number,
  ) {}

  needsFetch(): boolean {
    return this.buffer.length === 0 && !this.exhausted;
  }

  async fetch(): Promise<void> {
    const page = await this.store.queryShard(this.key, this.before, this.name, this.pageSize, this.lastKey);
    this.buffer.push(...page.items);
    this.lastKey = page.lastKey;
    this.exhausted = page.lastKey === undefined;
  }

  head(): TaskRecord | undefined {
    return this.buffer[0];
  }

  take(): TaskRecord {
    return this.buffer.shift()!;
  }

  hasMore(): boolean {
    return this.buffer.length > 0 || !this.exhausted;
  }
}

function isMarker(item: Record<string, unknown>): boolean {
  return item.kind === 'idempotency';
}

function toItem(record: TaskRecord): StoredItem {
  const { payload, result, ...rest } = record;
  return {
    ...rest,
    payloadJson: JSON.stringify(payload ?? null),
    ...(result === undefined ? {} : { resultJson: JSON.stringify(result) }),
    statusShard: `${record.status}#${shardOf(record.taskId)}`,
  };
}

function fromItem(item: StoredItem): TaskRecord {
  const { payloadJson, resultJson, statusShard: _shard, ...rest } = item as StoredItem & { attemptStartedAt?: string; retriedAt?: string };
  return {
    ...rest,
    attemptLog: rest.attemptLog ?? [],
    payload: JSON.parse(payloadJson) as unknown,
    ...(resultJson === undefined ? {} : { result: JSON.parse(resultJson) as unknown }),
  };
}
