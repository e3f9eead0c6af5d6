import { monotonicFactory } from 'ulid';
import { ValidationError } from './errors';
import type { TaskStatus } from './types';

/** Each status's tasks are spread over this many index partitions. Changing it needs a backfill. */
export const STATUS_SHARDS = 8;

const nextUlid = monotonicFactory();
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** A new task id: a ULID, so ids sort by creation time (the list order). */
export function newTaskId(): string {
  return nextUlid();
}

export function isTaskId(value: string): boolean {
  return ULID.test(value);
}

/** The shard of a task, stable for its whole life so that status moves stay within it. */
export function shardOf(taskId: string): number {
  let h = 0;
  for (let i = 0; i < taskId.length; i++) h = (h * 31 + taskId.charCodeAt(i)) >>> 0;
  return h % STATUS_SHARDS;
}

export function statusShardKeys(status: TaskStatus): string[] {
  return Array.from({ length: STATUS_SHARDS }, (_, i) => `${status}#${i}`);
}

/** The list cursor: the last id returned, wrapped so clients treat it as opaque. */
export function encodeCursor(taskId: string): string {
  return Buffer.from(`v1:${taskId}`).toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const text = /^[A-Za-z0-9_-]{1,64}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString() : '';
  const taskId = text.startsWith('v1:') ? text.slice(3) : '';
  if (!isTaskId(taskId)) throw new ValidationError('cursor is not one this API returned');
  return taskId;
}
