import { runWithConcurrency } from '../concurrency';
import type { Engine } from '../engine';
import { DependencyUnavailableError } from '../errors';
import { MAX_OBJECT_BYTES, S3_THRESHOLD_BYTES, TABLE_ONLY_LIMITS } from './limits';
import { payloadObjectKey } from './objectKeys';

/** What enqueue knows of a payload once it is checked: its JSON and its size. */
interface CheckedPayload {
  payloadJson: string;
  payloadBytes: number;
  /** Kept in the table whatever its size (lib/preparedTask.ts says when). */
  payloadInTable?: true;
}

/** Uploads at once, in an enqueue of many (a batch's body is at most 6 MB in all). */
const UPLOADS_AT_ONCE = 8;

/** The largest payload an enqueue takes: 5 MB with a bucket; without one, what a DynamoDB item holds. */
export function payloadLimit(engine: Pick<Engine, 'objects'>): number {
  return engine.objects ? MAX_OBJECT_BYTES : TABLE_ONLY_LIMITS.payloadBytes;
}

/**
 * Enqueue's hook: a payload over the threshold is written to S3 before
 * anything else of its task (the claim check), and the definition names it.
 * Returns its key, or undefined when the payload stays in the table. If the
 * upload fails it throws (503) and nothing of the task was written or sent,
 * so nothing runs. An upload whose answer was lost is sent again by the SDK,
 * writing the same bytes under the same key; one the SDK could not finish
 * (its retries spent, or the invocation's deadline reached) fails the
 * enqueue, and the object it may have left is not named by any record: the
 * bucket's lifecycle rule removes it with the task's retention.
 */
export async function storePayload(engine: Pick<Engine, 'objects'>, taskId: string, payload: CheckedPayload): Promise<string | undefined> {
  if (!engine.objects || payload.payloadInTable || payload.payloadBytes <= S3_THRESHOLD_BYTES) return undefined;
  const key = payloadObjectKey(taskId);
  await engine.objects.put(key, payload.payloadJson);
  return key;
}

/**
 * storePayload for many tasks (enqueueMany), a few uploads at a time: the key
 * of each payload written to S3, and the tasks whose upload failed, with why.
 */
export async function storePayloads(
  engine: Pick<Engine, 'objects'>,
  tasks: Array<{ taskId: string } & CheckedPayload>,
): Promise<{ keys: Map<string, string>; failures: Map<string, DependencyUnavailableError> }> {
  const keys = new Map<string, string>();
  const failures = new Map<string, DependencyUnavailableError>();
  await runWithConcurrency(tasks, UPLOADS_AT_ONCE, async (task) => {
    try {
      const key = await storePayload(engine, task.taskId, task);
      if (key !== undefined) keys.set(task.taskId, key);
    } catch (error) {
      failures.set(task.taskId, error instanceof DependencyUnavailableError ? error : new DependencyUnavailableError('s3', 'PutObject', error));
    }
  });
  return { keys, failures };
}
