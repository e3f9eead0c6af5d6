import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DependencyUnavailableError } from './errors';
import { shardOf } from './keys';
import type { TaskRecord } from './types';

/** A stored item: the record, with payload and result as JSON text (no 32-level nesting cap, no number drift). */
export type StoredItem = Omit<TaskRecord, 'payload' | 'result'> & {
  payloadJson: string;
  resultJson?: string;
  statusShard: string;
};

/** The status index's partition key of a record in `status`. */
export function statusShardOf(status: string, taskId: string): string {
  return `${status}#${shardOf(taskId)}`;
}

/** Idempotency markers share the table with records; nothing that reads records may return one. */
export function isMarker(item: Record<string, unknown>): boolean {
  return item.kind === 'idempotency';
}

/** A record as stored: payload and result as JSON text, plus its status-index key. */
export function toItem(record: TaskRecord): StoredItem {
  const { payload, result, ...rest } = record;
  return {
    ...rest,
    payloadJson: JSON.stringify(payload ?? null),
    ...(result === undefined ? {} : { resultJson: JSON.stringify(result) }),
    statusShard: statusShardOf(record.status, record.taskId),
  };
}

/** The record of a stored item (the inverse of toItem). */
export function fromItem(item: StoredItem): TaskRecord {
  const { payloadJson, resultJson, statusShard: _shard, ...rest } = item as StoredItem & { attemptStartedAt?: string; retriedAt?: string };
  return {
    ...rest,
    attemptLog: rest.attemptLog ?? [],
    payload: JSON.parse(payloadJson) as unknown,
    ...(resultJson === undefined ? {} : { result: JSON.parse(resultJson) as unknown }),
  };
}

/**
 * Runs one DynamoDB call: a conditional failure passes through for the caller
 * to interpret, anything else becomes a DependencyUnavailableError (503).
 */
export async function callTable<T>(action: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) throw error;
    throw new DependencyUnavailableError('dynamodb', action, error);
  }
}

/** Runs a conditional write: its output, or undefined if its condition did not hold. */
export async function conditionalWrite<T>(action: string, send: () => Promise<T>): Promise<T | undefined> {
  try {
    return await callTable(action, send);
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return undefined;
    throw error;
  }
}
