import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { encodeTime } from 'ulid';
import { DependencyUnavailableError } from './errors';
import { statusShardKeys } from './keys';
import type { TaskStore } from './store';
import { STATUS_INDEX } from './taskList';
import { TASK_STATUSES, type TaskStatus } from './types';

const MINUTE_MS = 60_000;
/** The smallest 16-character ULID random part: with a time prefix, the first id of that millisecond. */
const ULID_RANDOM_FLOOR = '0'.repeat(16);

export interface ThroughputBucket {
  /** Start of the minute, ISO 8601 UTC. */
  minute: string;
  succeeded: number;
  failed: number;
}

/** What the dashboard shows above the task list. */
export interface TaskStats {
  generatedAt: string;
  counts: Record<TaskStatus, number>;
  /** False when a shard had more pages than `maxPagesPerShard`: the counts are then lower bounds. */
  countsExact: boolean;
  windowMinutes: number;
  /** One bucket per minute, oldest first; the last is the current, partial minute. */
  throughput: ThroughputBucket[];
  throughputExact: boolean;
}

export interface StatsOptions {
  now: Date;
  /** Minutes of throughput; default 60. */
  windowMinutes?: number;
  /** Items per Query page (DynamoDB stops at 1 MB anyway); tests set it low to force paging. */
  pageSize?: number;
  /** Pages read per shard before giving up and reporting a lower bound; default 4 (about 4 MB). */
  maxPagesPerShard?: number;
}

/**
 * Counts per status and succeeded/failed per minute, read from the status index.
 * Why here and not on the store: these are read-only aggregates for one screen,
 * with their own cost limits; the store stays about single records.
 *
 * Approximation (documented in the README): throughput looks only at tasks
 * *created* within twice the window (the ULID task id bounds the index range),
 * so a task created more than two hours ago that finishes now is not counted,
 * and a task counts once, at its last finish, whatever its retries.
 */
export async function taskStats(store: TaskStore, options: StatsOptions): Promise<TaskStats> {
  const [counts, throughput] = await Promise.all([countByStatus(store, options), throughputPerMinute(store, options)]);
  return {
    generatedAt: options.now.toISOString(),
    counts: counts.counts,
    countsExact: counts.exact,
    windowMinutes: throughput.windowMinutes,
    throughput: throughput.buckets,
    throughputExact: throughput.exact,
  };
}

/** Counts each status with one `Select: COUNT` query per shard (6 × 8 in parallel); no items leave DynamoDB. */
export async function countByStatus(store: TaskStore, options: Omit<StatsOptions, 'now'> = {}): Promise<{ counts: Record<TaskStatus, number>; exact: boolean }> {
  const perStatus = await Promise.all(
    TASK_STATUSES.map(async (status) => {
      const shards = await Promise.all(
        statusShardKeys(status).map((key) =>
          queryPages(store, { KeyConditionExpression: 'statusShard = :k', ExpressionAttributeValues: { ':k': key }, Select: 'COUNT' }, options),
        ),
      );
      return { status, count: sum(shards.map((s) => s.count)), exact: shards.every((s) => s.exact) };
    }),
  );
  const counts = Object.fromEntries(perStatus.map((p) => [p.status, p.count])) as Record<TaskStatus, number>;
  return { counts, exact: perStatus.every((p) => p.exact) };
}

/** Buckets the `finishedAt` of SUCCEEDED and FAILED tasks into minutes over the last `windowMinutes`. */
export async function throughputPerMinute(
  store: TaskStore,
  options: StatsOptions,
): Promise<{ windowMinutes: number; buckets: ThroughputBucket[]; exact: boolean }> {
  const windowMinutes = options.windowMinutes ?? 60;
  const nowMs = options.now.getTime();
  const firstMinuteMs = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS - (windowMinutes - 1) * MINUTE_MS;
  const buckets: ThroughputBucket[] = Array.from({ length: windowMinutes }, (_, i) => ({
    minute: new Date(firstMinuteMs + i * MINUTE_MS).toISOString(),
    succeeded: 0,
    failed: 0,
  }));
  const createdFrom = encodeTime(Math.max(0, firstMinuteMs - windowMinutes * MINUTE_MS), 10) + ULID_RANDOM_FLOOR;
  const since = new Date(firstMinuteMs).toISOString();
  const results = await Promise.all(
    (['SUCCEEDED', 'FAILED'] as const).flatMap((status) =>
      statusShardKeys(status).map(async (key) => {
        const page = await queryPages(
          store,
          {
            KeyConditionExpression: 'statusShard = :k AND taskId >= :from',
            FilterExpression: 'finishedAt >= :since',
            ProjectionExpression: 'finishedAt',
            ExpressionAttributeValues: { ':k': key, ':from': createdFrom, ':since': since },
          },
          options,
        );
        return { status, ...page };
      }),
    ),
  );
  for (const { status, items } of results) {
    for (const item of items) {
      const finished = Date.parse(String(item.finishedAt));
      const index = Math.floor((finished - firstMinuteMs) / MINUTE_MS);
      const bucket = buckets[index];
      if (!bucket) continue; // a clock ahead of ours: not in the window yet
      if (status === 'SUCCEEDED') bucket.succeeded++;
      else bucket.failed++;
    }
  }
  return { windowMinutes, buckets, exact: results.every((r) => r.exact) };
}

/** Reads up to `maxPagesPerShard` pages of one status-index query; DynamoDB errors become DependencyUnavailableError here. */
async function queryPages(
  store: TaskStore,
  input: Omit<QueryCommandInput, 'TableName' | 'IndexName'>,
  options: Omit<StatsOptions, 'now'>,
): Promise<{ count: number; items: Record<string, unknown>[]; exact: boolean }> {
  const maxPages = options.maxPagesPerShard ?? 4;
  let count = 0;
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  for (let page = 0; page < maxPages; page++) {
    let out;
    try {
      out = await store.client.send(
        new QueryCommand({ ...input, TableName: store.tableName, IndexName: STATUS_INDEX, Limit: options.pageSize, ExclusiveStartKey: startKey }),
      );
    } catch (cause) {
      throw new DependencyUnavailableError('dynamodb', 'Query', cause);
    }
    count += out.Count ?? 0;
    items.push(...((out.Items ?? []) as Record<string, unknown>[]));
    startKey = out.LastEvaluatedKey;
    if (!startKey) return { count, items, exact: true };
  }
  return { count, items, exact: false };
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
