import { createHash } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * The task id of step `index` of a workflow: a ULID with the workflow's time
 * and a random part drawn from a hash of the workflow's id and the index.
 * The same every time it is computed, so enqueueing a step is idempotent on
 * (workflow, step): a second enqueue of it (a duplicate delivery, a repair
 * after a crash) meets the same task, whose claim runs it at most once.
 */
export function stepId(workflowId: string, index: number): string {
  const digest = createHash('sha256').update(`${workflowId}/${index}`).digest();
  let random = '';
  for (let i = 0; i < 16; i++) random += CROCKFORD[digest[i]! & 31];
  return workflowId.slice(0, 10) + random;
}
