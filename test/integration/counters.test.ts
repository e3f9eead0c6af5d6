import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../lib/engine';
import { addCounts, noCounts, readCounts } from '../../lib/store/counters';
import { createTestEngine, siblingEngine, startLocalAws, type LocalAws } from '../support/aws';
import { expectUnavailable } from '../support/faults';

/**
 * The dashboard's finished-task counters (lib/store/counters.ts) against real
 * dynalite: where a batch's counts land (hour partition, minute and shard sort
 * key, a day's expiry past the hour), how a read adds the shards of each minute
 * and reads every hour its range touches, and how a DynamoDB failure comes out.
 */
let aws: LocalAws;
let engine: Engine;

beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => aws.close());

/** A table of its own per test: counts of one test's minutes never mix with another's. */
async function freshStore() {
  engine = await createTestEngine(aws);
  return engine.store;
}

const at = (iso: string) => new Date(iso);
const item = (pk: string, sk: string) => engine.store.client.send(new GetCommand({ TableName: engine.store.tableName, Key: { pk, sk }, ConsistentRead: true }));

describe('addCounts', () => {
  it('adds a batch’s counts to its minute’s shard, under its hour, with an expiry a day past the hour', async () => {
    const store = await freshStore();
    const when = at('2026-11-27T16:42:31.500Z');

    await addCounts(store, { succeeded: 3, failed: 2, cancelled: 1 }, when, () => 0.99);
    await addCounts(store, { succeeded: 1, failed: 0, cancelled: 0 }, at('2026-11-27T16:42:59.999Z'), () => 0.99);

    const { Item } = await item('STATS#2026-11-27T16', '2026-11-27T16:42:00.000Z#3');
    expect(Item).toEqual({
      pk: 'STATS#2026-11-27T16',
      sk: '2026-11-27T16:42:00.000Z#3',
      succeeded: 4,
      failed: 2,
      cancelled: 1,
      expiresAt: Math.floor(Date.parse('2026-11-27T16:42:59.999Z') / 1000) + 26 * 3_600,
    });
  });

  it('spreads writes over four shards by the random draw, and writes nothing when there is nothing to add', async () => {
    const store = await freshStore();
    const when = at('2026-11-27T16:42:00.000Z');
    for (const draw of [0, 0.25, 0.5, 0.75]) await addCounts(store, { succeeded: 1, failed: 0, cancelled: 0 }, when, () => draw);
    const { engine: observed, dynamo } = siblingEngine(aws, engine);
    await addCounts(observed.store, noCounts(), when, () => 0.1);
    expect(dynamo.calls.filter((c) => c.command === 'UpdateItem')).toEqual([]);

    for (const shard of [0, 1, 2, 3]) {
      expect((await item('STATS#2026-11-27T16', `2026-11-27T16:42:00.000Z#${shard}`)).Item, `shard ${shard}`).toMatchObject({ succeeded: 1 });
    }
    expect(await readCounts(store, when, when)).toEqual([{ minute: '2026-11-27T16:42:00.000Z', succeeded: 4, failed: 0, cancelled: 0 }]);
  });

  it('answers 503 naming the UpdateItem DynamoDB refused', async () => {
    await freshStore();
    const { engine: faulty, dynamo } = siblingEngine(aws, engine);
    dynamo.add({ command: 'UpdateItem', effect: 'fail' });

    await expectUnavailable(addCounts(faulty.store, { succeeded: 1, failed: 0, cancelled: 0 }, new Date()), 'UpdateItem');
  });
});

describe('readCounts', () => {
  it('reads every minute of its range, both ends included, across an hour that starts exactly at its end', async () => {
    const store = await freshStore();
    await addCounts(store, { succeeded: 1, failed: 0, cancelled: 0 }, at('2026-11-27T16:57:59.000Z'));
    await addCounts(store, { succeeded: 2, failed: 0, cancelled: 0 }, at('2026-11-27T16:58:00.000Z'));
    await addCounts(store, { succeeded: 0, failed: 3, cancelled: 0 }, at('2026-11-27T16:59:30.000Z'));
    await addCounts(store, { succeeded: 0, failed: 0, cancelled: 4 }, at('2026-11-27T17:00:10.000Z'));
    await addCounts(store, { succeeded: 5, failed: 0, cancelled: 0 }, at('2026-11-27T17:01:00.000Z'));

    const counts = await readCounts(store, at('2026-11-27T16:58:30.000Z'), at('2026-11-27T17:00:45.000Z'));

    expect(counts).toEqual([
      { minute: '2026-11-27T16:58:00.000Z', succeeded: 2, failed: 0, cancelled: 0 },
      { minute: '2026-11-27T16:59:00.000Z', succeeded: 0, failed: 3, cancelled: 0 },
      { minute: '2026-11-27T17:00:00.000Z', succeeded: 0, failed: 0, cancelled: 4 },
    ]);
  });

  it('answers 503 naming the Query DynamoDB refused', async () => {
    await freshStore();
    const { engine: faulty, dynamo } = siblingEngine(aws, engine);
    dynamo.add({ command: 'Query', effect: 'fail' });

    await expectUnavailable(readCounts(faulty.store, new Date(), new Date()), 'Query');
  });
});
