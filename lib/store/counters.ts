import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { callTable } from './dynamo';
import type { TaskStore } from './taskStore';

/**
 * Counts of finished tasks (runs that ended SUCCEEDED, FAILED or CANCELLED)
 * per minute, for the dashboard: each worker batch adds its outcomes in one
 * write, so a task adds a fraction of a write unit,
 * and reading the last hour costs two Queries, whatever the table holds.
 * Items are keyed by hour (partition) and minute + shard (sort): writers pick
 * a shard at random, so no one item takes every batch's write.
 */
export interface FinishedCounts {
  succeeded: number;
  failed: number;
  cancelled: number;
}

export interface MinuteCounts extends FinishedCounts {
  /** Start of the minute, ISO 8601 UTC. */
  minute: string;
}

const COUNTER_SHARDS = 4;
/** Counters outlive the hour they count by a day, then expire. */
const COUNTER_TTL_SECONDS = 26 * 3_600;
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const FIELDS = ['succeeded', 'failed', 'cancelled'] as const;

export const noCounts = (): FinishedCounts => ({ succeeded: 0, failed: 0, cancelled: 0 });

const hourKey = (ms: number) => `STATS#${new Date(Math.floor(ms / HOUR_MS) * HOUR_MS).toISOString().slice(0, 13)}`;
const minuteOf = (ms: number) => new Date(Math.floor(ms / MINUTE_MS) * MINUTE_MS).toISOString();

/** Adds `counts` to the minute of `at`, in one UpdateItem; nothing to add, no write. */
export async function addCounts(store: TaskStore, counts: FinishedCounts, at: Date, random: () => number = Math.random): Promise<void> {
  const fields = FIELDS.filter((f) => counts[f] > 0);
  if (fields.length === 0) return;
  const ms = at.getTime();
  await callTable('UpdateItem', () =>
    store.client.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: { pk: hourKey(ms), sk: `${minuteOf(ms)}#${Math.floor(random() * COUNTER_SHARDS)}` },
        UpdateExpression: `ADD ${fields.map((f) => `${f} :${f}`).join(', ')} SET expiresAt = :expiresAt`,
        ExpressionAttributeValues: { ...Object.fromEntries(fields.map((f) => [`:${f}`, counts[f]])), ':expiresAt': Math.floor(ms / 1000) + COUNTER_TTL_SECONDS },
      }),
    ),
  );
}

/** The counts of every minute from `from` to `to` (both included), oldest first; minutes with none are zeros. */
export async function readCounts(store: TaskStore, from: Date, to: Date): Promise<MinuteCounts[]> {
  const first = Math.floor(from.getTime() / MINUTE_MS) * MINUTE_MS;
  const last = Math.floor(to.getTime() / MINUTE_MS) * MINUTE_MS;
  const minutes = new Map<string, MinuteCounts>();
  for (let m = first; m <= last; m += MINUTE_MS) minutes.set(minuteOf(m), { minute: minuteOf(m), ...noCounts() });
  const hours: number[] = [];
  for (let h = Math.floor(first / HOUR_MS) * HOUR_MS; h <= last; h += HOUR_MS) hours.push(h);
  const pages = await Promise.all(
    hours.map((h) =>
      callTable('Query', () =>
        store.client.send(
          new QueryCommand({
            TableName: store.tableName,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
            ExpressionAttributeValues: { ':pk': hourKey(h), ':from': minuteOf(first), ':to': `${minuteOf(last)}#~` },
          }),
        ),
      ),
    ),
  );
  // Stryker disable next-line ArrayDeclaration: a Query's answer always holds Items (empty when nothing matched)
  for (const item of pages.flatMap((p) => p.Items ?? [])) {
    // The Query's BETWEEN returns only minutes of the range.
    const bucket = minutes.get(String(item.sk).split('#')[0]!)!;
    for (const f of FIELDS) bucket[f] += Number(item[f] ?? 0);
  }
  return [...minutes.values()];
}
