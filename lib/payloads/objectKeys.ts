/**
 * The keys of the bucket's objects. Payloads and results under their own
 * prefixes, so each function's role names only what it reads or writes
 * (serverless.yml): the api writes payloads, the worker writes results.
 */
const PAYLOAD_PREFIX = 'payloads/';
const RESULT_PREFIX = 'results/';

/** A task's payload: one per task id, so an Idempotency-Key's requests (one task id, one body) write the same object. */
export function payloadObjectKey(taskId: string): string {
  return `${PAYLOAD_PREFIX}${taskId}.json`;
}

/**
 * One attempt's result: an attempt taken over (its lease ended) that still
 * finishes writes its own object, never the one the record names.
 */
export function resultObjectKey(taskId: string, run: number, attempt: number): string {
  return `${RESULT_PREFIX}${taskId}/${run}-${attempt}.json`;
}
