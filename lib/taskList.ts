import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { decodeCursor, encodeCursor, statusShardKeys } from './keys';
import type { TaskStore } from './store';
import { callTable, fromItem, type StoredItem } from './taskItem';
import { TASK_STATUSES, type TaskRecord, type TaskStatus } from './types';

/** The status index (serverless.yml's TasksTable): partitioned by `statusShard`, sorted by task id (a ULID, so by creation time). */
export const STATUS_INDEX = 'byStatus';

export interface ListQuery {
  status?: TaskStatus;
  name?: string;
  limit: number;
  cursor?: string;
}

/**
 * Lists tasks newest first: a k-way merge of the status index's shards (every
 * shard of one status, or of all of them), each paged lazily. The cursor is
 * opaque to clients: the last id returned.
 */
export async function listTasks(store: TaskStore, query: ListQuery): Promise<{ items: TaskRecord[]; nextCursor?: string }> {
  const before = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const statuses = query.status ? [query.status] : [...TASK_STATUSES];
  const streams = statuses.flatMap(statusShardKeys).map((key) => new ShardStream(store, key, before, query.name, query.limit));
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

/** A lazily paged, newest-first view of one status shard. */
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
    const values: Record<string, unknown> = { ':k': this.key };
    if (this.before) values[':before'] = this.before;
    if (this.name) values[':name'] = this.name;
    const out = await callTable('Query', () =>
      this.store.client.send(
        new QueryCommand({
          TableName: this.store.tableName,
          IndexName: STATUS_INDEX,
          KeyConditionExpression: this.before ? 'statusShard = :k AND taskId < :before' : 'statusShard = :k',
          FilterExpression: this.name ? '#n = :name' : undefined,
          ExpressionAttributeNames: this.name ? { '#n': 'name' } : undefined,
          ExpressionAttributeValues: values,
          ScanIndexForward: false,
          Limit: this.pageSize,
          ExclusiveStartKey: this.lastKey,
        }),
      ),
    );
    this.buffer.push(...(out.Items ?? []).map((i) => fromItem(i as StoredItem)));
    this.lastKey = out.LastEvaluatedKey;
    this.exhausted = out.LastEvaluatedKey === undefined;
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
