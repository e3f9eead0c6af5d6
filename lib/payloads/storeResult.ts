import type { Engine } from '../engine';
import type { StateItem } from '../store/items';
import { ERROR_MESSAGE_LIMIT, resultJson } from '../taskError';
import { byteLength, clip } from '../text';
import type { ObjectRef, TaskError } from '../types';
import { MAX_OBJECT_BYTES, S3_THRESHOLD_BYTES, TABLE_ONLY_LIMITS } from './limits';
import { resultObjectKey } from './objectKeys';

/** How a successful attempt's result is recorded: in the state item, or in S3 and named there. */
export type RecordedResult = { resultJson: string; resultObject?: undefined } | { resultObject: ObjectRef; resultJson?: undefined };

/** A result ready for the outcome write, or why it could not be kept (the attempt then fails, and is retried like any failure). */
export type StoredResult = { ok: true; result: RecordedResult } | { ok: false; error: TaskError; cause: unknown };

/**
 * The worker's hook: a result over the threshold is written to S3 before the
 * outcome that names it (its key is the attempt's own, so an attempt that
 * lost its lease never overwrites the object the record names). Over 5 MB (64
 * KB without a bucket) a result is replaced by a marker, as before. If S3
 * refuses the write, the result is not kept and the attempt counts as failed
 * (`ResultNotStored`): retried after its backoff, never recorded SUCCEEDED
 * without its result. An object written whose outcome then does not land
 * (lost the lease, DynamoDB down) is named by no record; the bucket's
 * lifecycle rule removes it with the task's retention.
 */
export async function storeResult(engine: Pick<Engine, 'objects'>, claimed: StateItem, result: unknown): Promise<StoredResult> {
  const json = resultJson(result, engine.objects ? MAX_OBJECT_BYTES : TABLE_ONLY_LIMITS.resultBytes);
  const bytes = byteLength(json);
  if (!engine.objects || bytes <= S3_THRESHOLD_BYTES) return { ok: true, result: { resultJson: json } };
  const key = resultObjectKey(claimed.taskId, claimed.run, claimed.attempts);
  try {
    await engine.objects.put(key, json);
  } catch (cause) {
    const message = clip(`The result (${bytes} bytes) could not be written to S3: ${(cause as Error).message}`, ERROR_MESSAGE_LIMIT);
    return { ok: false, error: { type: 'ResultNotStored', message }, cause };
  }
  return { ok: true, result: { resultObject: { key, bytes } } };
}
