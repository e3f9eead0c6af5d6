/** How lib/store/ calls DynamoDB: the only code that knows its error names. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { randomBytes } from 'node:crypto';
import { chunksOf } from '../chunks';
import { DependencyUnavailableError } from '../errors';

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

/** The attribute in which every write of a task's state leaves its own token. */
export const WRITE_TOKEN = 'wt';

/** A token for one write: the same in every try the SDK sends of it, different from every other write's. */
export function newWriteToken(): string {
  return randomBytes(9).toString('base64url');
}

/**
 * How a guarded write ended. Applied: its output (absent when an earlier try
 * of it landed: then `item` is what it left). Not applied: the item as the
 * condition found it (absent if there was none).
 */
export type Guarded<T> = { applied: true; output?: T; item?: Record<string, unknown> } | { applied: false; item?: Record<string, unknown> };

/**
 * Runs a conditional write that sets WRITE_TOKEN to `token` and asks DynamoDB
 * for the item when its condition fails (ReturnValuesOnConditionCheckFailure:
 * ALL_OLD, which costs no read). The SDK sends a write again when an answer is
 * lost (a 500, a socket timeout); if the first try landed, the second one's
 * condition fails on the first one's result. That item carries this token, so
 * the write is recognised as applied, never read as "someone else won".
 */
export async function guardedWrite<T>(action: string, token: string, send: () => Promise<T>): Promise<Guarded<T>> {
  try {
    return { applied: true, output: await callTable(action, send) };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const item = error.Item ? unmarshall(error.Item) : undefined;
    return { applied: item?.[WRITE_TOKEN] === token, item };
  }
}

/** The parts of a write's input that guardedWrite needs: the token's value, and the item on a failed condition. */
export const onFailureReturnItem = { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } as const;

/** BatchGetItem's limit on keys per request. */
const BATCH_GET_KEYS = 100;

/**
 * Reads items by key, 100 keys per BatchGetItem, in parallel, retrying what
 * DynamoDB leaves unprocessed; strongly consistent unless told otherwise.
 * Missing items are simply absent from the result, keyed by `pk|sk`.
 */
export async function batchGet(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: Array<{ pk: string; sk: string }>,
  consistent = true,
): Promise<Map<string, Record<string, unknown>>> {
  const found = new Map<string, Record<string, unknown>>();
  const unique = [...new Map(keys.map((k) => [keyString(k), k])).values()];
  await Promise.all(
    chunksOf(unique, BATCH_GET_KEYS).map(async (chunk) => {
      let pending: Array<Record<string, unknown>> = chunk;
      for (let round = 0; pending.length > 0; round++) {
        if (round > 0) await new Promise((r) => setTimeout(r, Math.min(1_000, 25 * 2 ** round)));
        if (round > 8) throw new DependencyUnavailableError('dynamodb', 'BatchGetItem', 'keys left unprocessed');
        const out = await callTable('BatchGetItem', () =>
          client.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: consistent } } })),
        );
        for (const item of out.Responses?.[tableName] ?? []) found.set(keyString(item as { pk: string; sk: string }), item);
        pending = out.UnprocessedKeys?.[tableName]?.Keys ?? [];
      }
    }),
  );
  return found;
}

export function keyString(key: { pk: unknown; sk: unknown }): string {
  return `${String(key.pk)}|${String(key.sk)}`;
}
