import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DependencyUnavailableError } from '../errors';
import { callTable, guardedWrite, newWriteToken, onFailureReturnItem } from '../store/dynamo';
import type { TaskStore } from '../store/taskStore';
import { inTurn } from './inTurn';
import { expiresAfter } from './keys';

/**
 * A rate limit as a token bucket in DynamoDB, kept as one number: the
 * bucket's theoretical arrival time (`tat`, the generic cell rate algorithm).
 * A token is never refused: taking one reserves the next time it is due, and
 * the task waits until then. So the tasks over the rate line up one
 * `intervalMs` apart with one write each, instead of all polling the bucket
 * at once whenever a token comes free.
 */

/** A bucket: one token every `intervalMs`, up to `burst` at once after a quiet spell. */
export interface Bucket {
  intervalMs: number;
  burst: number;
}

/**
 * The token of a take at `now` from a bucket whose arrival time is `tat`
 * (undefined: never used): when it is due (`at`, never before `now`), and
 * the bucket's arrival time after it.
 */
export function reserve(tat: number | undefined, now: number, bucket: Bucket): { at: number; tat: number } {
  const last = tat ?? now;
  const at = Math.max(now, last - (bucket.burst - 1) * bucket.intervalMs);
  return { at, tat: Math.max(at, last) + bucket.intervalMs };
}

/** Each bucket's arrival time as this process last wrote or saw it: a take then needs no read. */
const known = new Map<string, number | null>();
const KNOWN_LIMIT = 10_000;

/** Tries at a take while other workers' takes keep refusing it (each refusal returns the bucket as it is). */
const TRIES = 10;

/**
 * Takes the next token of the bucket at `key`: one conditional write on the
 * arrival time this process knows (read once per bucket and process), and
 * again with the one a refusal returns when another worker took a token
 * meanwhile. Returns when the token is due (epoch ms). A take whose answer
 * was lost below the SDK's retries is recognised (guardedWrite); one that no
 * try answered may have reserved a token that nobody uses, which only slows
 * the rate, never raises it.
 */
export async function takeToken(store: TaskStore, key: { pk: string; sk: string }, bucket: Bucket, now: () => number): Promise<number> {
  const id = `${store.tableName}|${key.pk}`;
  return inTurn(id, async () => {
    if (!known.has(id)) remember(id, await readTat(store, key));
    for (let tries = 0; tries < TRIES; tries++) {
      const before = known.get(id) ?? undefined;
      const { at, tat } = reserve(before, now(), bucket);
      const token = newWriteToken();
      let out;
      try {
        out = await guardedWrite('UpdateItem', token, () =>
          store.client.send(
            new UpdateCommand({
              TableName: store.tableName,
              Key: key,
              UpdateExpression: 'SET tat = :tat, expiresAt = :expiresAt, wt = :wt',
              ConditionExpression: before === undefined ? 'attribute_not_exists(tat)' : 'tat = :before',
              ExpressionAttributeValues: { ':tat': tat, ':expiresAt': expiresAfter(tat), ':wt': token, ...(before === undefined ? {} : { ':before': before }) },
              ...onFailureReturnItem,
            }),
          ),
        );
      } catch (error) {
        known.delete(id);
        throw error;
      }
      if (out.applied) {
        remember(id, tat);
        return at;
      }
      remember(id, (out.item?.tat as number | undefined) ?? null);
    }
    throw new DependencyUnavailableError('dynamodb', 'UpdateItem', 'the rate limit bucket kept changing under the take');
  });
}

async function readTat(store: TaskStore, key: { pk: string; sk: string }): Promise<number | null> {
  const out = await callTable('GetItem', () => store.client.send(new GetCommand({ TableName: store.tableName, Key: key, ConsistentRead: true })));
  return (out.Item?.tat as number | undefined) ?? null;
}

function remember(id: string, tat: number | null): void {
  if (known.size >= KNOWN_LIMIT && !known.has(id)) known.clear();
  known.set(id, tat);
}
