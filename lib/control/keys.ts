/**
 * Where lib/control keeps its items in the task table: keys of their own,
 * which listing and the recovery sweep (the TASK# shards) never read.
 */

/** The slots of a concurrency limit: one partition per task type (and key), one item per slot. */
export const slotsPk = (taskName: string, key: string | undefined) => (key === undefined ? `LIMIT#${taskName}` : `LIMIT#${taskName}#${key}`);
export const slotSk = (index: number) => `slot#${String(index).padStart(3, '0')}`;

/** The token bucket of a rate limit. */
export const bucketKey = (taskName: string, key: string | undefined) => ({ pk: key === undefined ? `RATE#${taskName}` : `RATE#${taskName}#${key}`, sk: 'bucket' });

/** Which task a debounce key's burst runs as. */
export const debounceKey = (taskName: string, key: string) => ({ pk: `DEBOUNCE#${taskName}#${key}`, sk: 'marker' });


/** Keys a task's own code may give (concurrencyKey, rateLimit.key): 1 to 200 characters. */
export const MAX_KEY_LENGTH = 200;

/** Items of lib/control outlive what they track by a day, then expire (DynamoDB TTL, epoch seconds). */
export const expiresAfter = (epochMs: number) => Math.ceil(epochMs / 1000) + 86_400;
