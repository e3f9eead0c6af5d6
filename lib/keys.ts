import { monotonicFactory } from 'ulid';
import { ValidationError } from './errors';

/**
 * Tasks are spread over this many partition keys of the table (a task's shard
 * comes from its id), so that no key takes more than its share of writes:
 * DynamoDB serves about 1,000 write units a second per partition key. Listing
 * reads every shard. Changing it moves every task to another key: a backfill.
 */
export const TASK_SHARDS = 16;

// Pure: a bundle that makes no task id (the worker) leaves ulid out.
const nextUlid = /* @__PURE__ */ monotonicFactory();
/** A task id: a ULID (Crockford base 32, 26 characters). */
export const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** A new task id: a ULID, so ids sort by creation time (the list order). */
export function newTaskId(): string {
  return nextUlid();
}

export function isTaskId(value: string): boolean {
  return ULID.test(value);
}

/** The shard of a task: stable for its whole life, and spread evenly by the id's random part. */
export function shardOf(taskId: string): number {
  let h = 0;
  for (let i = 0; i < taskId.length; i++) h = (h * 31 + taskId.charCodeAt(i)) >>> 0;
  return h % TASK_SHARDS;
}

/** The list cursor: the last id looked at, wrapped so clients treat it as opaque. */
export function encodeCursor(taskId: string): string {
  return Buffer.from(`v1:${taskId}`).toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const text = /^[A-Za-z0-9_-]{1,64}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString() : '';
  const taskId = text.startsWith('v1:') ? text.slice(3) : '';
  if (!isTaskId(taskId)) throw new ValidationError('cursor is not one this API returned');
  return taskId;
}
