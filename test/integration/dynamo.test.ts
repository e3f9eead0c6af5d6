import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDocumentClient } from '../../lib/clients';
import type { Engine } from '../../lib/engine';
import { batchGet } from '../../lib/store/dynamo';
import { createTestEngine, dedicatedClients, startLocalAws, type LocalAws } from '../support/aws';
import { expectUnavailable, installFaults } from '../support/faults';

/**
 * batchGet (lib/store/dynamo.ts) against real dynalite: requests of at most
 * 100 keys, strongly consistent unless told otherwise, and what DynamoDB
 * leaves unprocessed read again with a pause that doubles, up to a limit.
 */
let aws: LocalAws;
let engine: Engine;

beforeAll(async () => {
  aws = await startLocalAws();
  engine = await createTestEngine(aws);
});
afterAll(async () => aws.close());

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- DynamoDB command inputs and outputs
type Io = any;
type Key = { pk: string; sk: string };

/** A document client of its own, whose BatchGetItem answers `shape` makes, from the real answer (`send`) or in its place. */
function clientShaping(shape: (input: Io, send: (input: Io) => Promise<Io>) => Promise<Io>): { doc: DynamoDBDocumentClient } {
  const raw = dedicatedClients(aws).dynamo;
  installFaults(raw).add({ command: 'BatchGetItem', effect: 'shape', shape });
  return { doc: createDocumentClient(raw) };
}

const keysOf = (input: Io): Key[] => input.RequestItems[engine.store.tableName].Keys;
const unprocessed = (keys: Key[]) => ({ [engine.store.tableName]: { Keys: keys } });

async function putItems(prefix: string, count: number): Promise<Key[]> {
  const keys = Array.from({ length: count }, (_, i) => ({ pk: `DYNAMO#${prefix}`, sk: String(i) }));
  for (const key of keys) await engine.store.client.send(new PutCommand({ TableName: engine.store.tableName, Item: { ...key, n: Number(key.sk) } }));
  return keys;
}

describe('batchGet', () => {
  it('reads each key once, at most 100 per request, strongly consistent unless told otherwise', async () => {
    const stored = await putItems('chunks', 3);
    const absent = Array.from({ length: 147 }, (_, i) => ({ pk: 'DYNAMO#absent', sk: String(i) }));
    const requests: Io[] = [];
    const { doc } = clientShaping((input, send) => {
      requests.push(input);
      return send(input);
    });

    const found = await batchGet(doc, engine.store.tableName, [...stored, ...absent, ...stored]);

    expect([...found.keys()].sort()).toEqual(stored.map((k) => `${k.pk}|${k.sk}`).sort());
    expect(found.get(`${stored[1]!.pk}|1`)).toEqual({ ...stored[1], n: 1 });
    expect(requests.map((r) => keysOf(r).length).sort((a, b) => b - a)).toEqual([100, 50]);
    expect(requests.map((r) => r.RequestItems[engine.store.tableName].ConsistentRead)).toEqual([true, true]);

    await batchGet(doc, engine.store.tableName, stored, false);
    expect(requests.at(-1).RequestItems[engine.store.tableName].ConsistentRead).toBe(false);
  });

  it('reads again what DynamoDB left unprocessed, after 50 then 100 ms, until every key is read', async () => {
    const stored = await putItems('unprocessed', 3);
    const times: number[] = [];
    const { doc } = clientShaping(async (input, send) => {
      times.push(Date.now());
      const keys = keysOf(input);
      // Throttled whole at first, then one key read, then the rest (and nothing said of unprocessed keys).
      if (times.length === 1) return { Responses: {}, UnprocessedKeys: unprocessed(keys), $metadata: {} };
      if (times.length === 2) return { ...(await send({ RequestItems: { [engine.store.tableName]: { Keys: keys.slice(0, 1) } } })), UnprocessedKeys: unprocessed(keys.slice(1)) };
      return { ...(await send(input)), UnprocessedKeys: undefined };
    });

    const found = await batchGet(doc, engine.store.tableName, stored);

    expect([...found.keys()].sort()).toEqual(stored.map((k) => `${k.pk}|${k.sk}`).sort());
    expect(times).toHaveLength(3);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(45);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(95);
  });

  it('gives up as DynamoDB BatchGetItem unavailable after nine rounds that leave keys unprocessed, pausing 50 ms doubling up to a second', async () => {
    const times: number[] = [];
    // Every key left unprocessed, and no responses at all: answered at once, so the clock can be the test's.
    const { doc } = clientShaping(async (input) => {
      times.push(Date.now());
      return { UnprocessedKeys: unprocessed(keysOf(input)), $metadata: {} };
    });
    vi.useFakeTimers({ toFake: ['setTimeout', 'Date'] });
    try {
      const start = Date.now();
      const settled = batchGet(doc, engine.store.tableName, [{ pk: 'DYNAMO#never', sk: '0' }]).then(
        () => ({ error: undefined, at: Date.now() - start }),
        (error: unknown) => ({ error, at: Date.now() - start }),
      );
      await vi.runAllTimersAsync();
      const { error, at } = await settled;

      expect(error).toMatchObject({ dependency: 'dynamodb', message: 'DynamoDB BatchGetItem failed', cause: 'keys left unprocessed' });
      expect(times.map((t) => t - start)).toEqual([0, 50, 150, 350, 750, 1550, 2550, 3550, 4550]);
      expect(at).toBe(5550);
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects as DynamoDB BatchGetItem unavailable when the call fails', async () => {
    const raw = dedicatedClients(aws).dynamo;
    installFaults(raw).add({ command: 'BatchGetItem', effect: 'fail' });

    await expectUnavailable(batchGet(createDocumentClient(raw), engine.store.tableName, [{ pk: 'DYNAMO#x', sk: '0' }]), 'BatchGetItem');
  });
});
