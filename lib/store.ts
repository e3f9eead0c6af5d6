import { BatchWriteCommand, DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DependencyUnavailableError, TaskNotFoundError, TaskStateConflictError } from './errors';
import { callTable, conditionalWrite, fromItem, isMarker, statusShardOf, toItem, type StoredItem } from './taskItem';
import type { TaskRecord, TaskStatus } from './types';

export interface IdempotencyMarker {
  taskId: string;
  requestHash: string;
}

const IDEMPOTENCY_PREFIX = 'idem#';

/**
 * DynamoDB access for task records by id: what the api writes and reads. The
 * worker's claims and outcomes are in attempts.ts and listing is in
 * taskList.ts, as plain functions, so neither is bundled into a function that
 * does not call it (the worker still carries this class, which the engine
 * builds); all of them share the item shape and error mapping of taskItem.ts.
 */
export class TaskStore {
  constructor(
    /** Also used by attempts.ts, taskList.ts and stats.ts, which make their calls beside this class. */
    readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  /** Writes a new PENDING record; false if a record with that id already exists. */
  async create(record: TaskRecord): Promise<boolean> {
    const out = await conditionalWrite('PutItem', () =>
      this.client.send(new PutCommand({ TableName: this.tableName, Item: toItem(record), ConditionExpression: 'attribute_not_exists(taskId)' })),
    );
    return out !== undefined;
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
    const out = await callTable('GetItem', () => this.client.send(new GetCommand({ TableName: this.tableName, Key: { taskId }, ConsistentRead: true })));
    return out.Item && !isMarker(out.Item) ? fromItem(out.Item as StoredItem) : undefined;
  }

  /** Removes a record that never started: the compensation when its message could not be sent. */
  async deleteUnstarted(taskId: string): Promise<void> {
    await conditionalWrite('DeleteItem', () =>
      this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { taskId },
          ConditionExpression: '#s = :pending AND attempts = :zero',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':pending': 'PENDING', ':zero': 0 },
        }),
      ),
    );
  }

  /** Records the first use of an idempotency key; returns the existing marker if it was used before. */
  async putIdempotencyMarker(key: string, marker: IdempotencyMarker, expiresAt: number): Promise<IdempotencyMarker | undefined> {
    const markerId = IDEMPOTENCY_PREFIX + key;
    const written = await conditionalWrite('PutItem', () =>
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { taskId: markerId, kind: 'idempotency', targetTaskId: marker.taskId, requestHash: marker.requestHash, expiresAt },
          ConditionExpression: 'attribute_not_exists(taskId)',
        }),
      ),
    );
    if (written) return undefined;
    const out = await callTable('GetItem', () => this.client.send(new GetCommand({ TableName: this.tableName, Key: { taskId: markerId }, ConsistentRead: true })));
    if (!out.Item) return this.putIdempotencyMarker(key, marker, expiresAt); // expired between the two calls
    return { taskId: String(out.Item.targetTaskId), requestHash: String(out.Item.requestHash) };
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
    await conditionalWrite('PutItem', () =>
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...toItem(before), updatedAt: now.toISOString() },
          ConditionExpression: '#s = :pending AND attempts = :zero',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':pending': 'PENDING', ':zero': 0 },
        }),
      ),
    );
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
    const out = await conditionalWrite('UpdateItem', () =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { taskId },
          UpdateExpression: update,
          ConditionExpression: `attribute_exists(statusShard) AND #s IN (${Object.keys(fromValues).join(', ')})`,
          ExpressionAttributeNames: { '#s': 'status', ...(update.includes('#e') ? { '#e': 'error' } : {}) },
          ExpressionAttributeValues: { ':to': to, ':shard': statusShardOf(to, taskId), ':now': now.toISOString(), ...fromValues, ...extraValues },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    if (out) return fromItem(out.Attributes as StoredItem);
    const current = await this.get(taskId);
    if (!current) throw new TaskNotFoundError(taskId);
    throw new TaskStateConflictError(taskId, current.status, action);
  }
}
