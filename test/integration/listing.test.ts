import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../lib/clients';
import { ValidationError } from '../../lib/errors';
import { encodeCursor, newTaskId, shardOf, TASK_SHARDS } from '../../lib/keys';
import { attentionKey, newTaskItems, taskKey } from '../../lib/store/items';
import { listTasks, SCAN_BUDGET, type ListPage, type ListQuery } from '../../lib/store/listing';
import { TaskStore } from '../../lib/store/taskStore';
import type { TaskStatus, TaskSummary } from '../../lib/types';
import { createTasksTable, dedicatedClients, startLocalAws, type LocalAws } from '../support/aws';
import { expectUnavailable, installFaults } from '../support/faults';
import { putStateOf } from '../support/storeFixture';

/**
 * listTasks against real dynalite, on tables laid out shard by shard: newest
 * first across the 16 shards, each task once across pages, filters by status
 * and name, FAILED and CANCELLED from their sparse index, states whose
 * definition is gone, the scan budget of a page, and what a page reads.
 */
let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => aws.close());

const CREATED = '2026-01-01T00:00:00.000Z';
const EXPIRES = Math.floor(Date.parse('2026-02-01T00:00:00Z') / 1000);
let tables = 0;

/** A table of its own (serverlessResources' TasksTable), with a store to write to it and one to list it through `client`. */
async function freshTable(client: DynamoDBClient = aws.dynamo): Promise<{ writer: TaskStore; lister: TaskStore }> {
  const tableName = `listing-${process.pid}-${++tables}`;
  await createTasksTable(aws, tableName);
  return { writer: new TaskStore(createDocumentClient(aws.dynamo), tableName), lister: new TaskStore(createDocumentClient(client), tableName) };
}

/** New task ids, oldest first, the k-th of them in shard `shards[k]`. */
function idsInShards(shards: number[]): string[] {
  return shards.map((shard) => {
    for (;;) {
      const id = newTaskId();
      if (shardOf(id) === shard) return id;
    }
  });
}

const definition = (taskId: string, name: string) =>
  newTaskItems({ taskId, name, payload: null, priority: 'default', maxAttempts: 3, timeoutSeconds: 30, createdAt: CREATED, expiresAt: EXPIRES }, 'null', 4);

async function putTasks(store: TaskStore, ids: string[], name = 'list_task'): Promise<void> {
  const failed = await store.createMany(ids.map((id) => definition(id, name)));
  expect(failed.size).toBe(0);
}

/** A state item as a worker or client leaves it; FAILED and CANCELLED ones carry their index key. */
async function putState(store: TaskStore, taskId: string, status: TaskStatus, name = 'list_task'): Promise<void> {
  const finished = status === 'FAILED' || status === 'CANCELLED' ? { attention: attentionKey(status, taskId), finishedAt: '2026-01-01T00:01:00.000Z' } : {};
  await putStateOf(store, definition(taskId, name).task, { status, ...finished });
}

/** Its definition gone (TTL deletes the two items of a task separately): the state alone is left. */
async function dropDefinition(store: TaskStore, taskId: string): Promise<void> {
  await store.client.send(new DeleteCommand({ TableName: store.tableName, Key: taskKey(taskId) }));
}

/** Every page, following nextCursor until it is absent. */
async function allPages(store: TaskStore, query: Omit<ListQuery, 'cursor'>): Promise<ListPage[]> {
  const pages: ListPage[] = [];
  let cursor: string | undefined;
  do {
    const page = await listTasks(store, { ...query, cursor });
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor !== undefined && pages.length < 100);
  return pages;
}

const ids = (items: TaskSummary[]) => items.map((t) => t.taskId);
const newestFirst = (list: string[]) => [...list].reverse();

/** Each Query a client sends, with the index it reads, its Limit and how many items came back. */
function recordQueries(client: DynamoDBClient): Array<{ index?: string; limit?: number; items: number }> {
  const seen: Array<{ index?: string; limit?: number; items: number }> = [];
  installFaults(client).add({
    command: 'Query',
    effect: 'shape',
    shape: async (input: { IndexName?: string; Limit?: number }, send) => {
      const output = (await send(input)) as { Items?: unknown[] };
      seen.push({ index: input.IndexName, limit: input.Limit, items: (output.Items ?? []).length });
      return output;
    },
  });
  return seen;
}

describe('order and paging', () => {
  it('lists every task newest first across the shards, each exactly once across pages, then ends without a cursor', async () => {
    const { writer, lister } = await freshTable();
    const all = idsInShards(Array.from({ length: 40 }, (_, i) => (i * 7) % TASK_SHARDS));
    await putTasks(writer, all);
    await putState(writer, all[5]!, 'RUNNING');
    await putState(writer, all[39]!, 'SUCCEEDED');

    const pages = await allPages(lister, { limit: 7 });

    expect(pages.map((p) => p.items.length)).toEqual([7, 7, 7, 7, 7, 5]);
    expect(pages.at(-1)!.nextCursor).toBeUndefined();
    const listed = pages.flatMap((p) => p.items);
    expect(ids(listed)).toEqual(newestFirst(all));
    // A task with a state is shown by its state, once; one without is PENDING, run 1.
    expect(listed.find((t) => t.taskId === all[5])).toMatchObject({ status: 'RUNNING', attempts: 1, updatedAt: '2026-01-01T00:01:00.000Z' });
    expect(listed[0]).toMatchObject({ taskId: all[39], status: 'SUCCEEDED' });
    expect(listed.find((t) => t.taskId === all[6])).toMatchObject({ status: 'PENDING', run: 1, attempts: 0, updatedAt: CREATED });
  });

  it('gives a cursor when the page is full and tasks are left, even when every shard was read to its end', async () => {
    const { writer, lister } = await freshTable();
    const all = idsInShards([1, 2, 3, 4, 5]);
    await putTasks(writer, all);

    const first = await listTasks(lister, { limit: 3 });
    const rest = await listTasks(lister, { limit: 3, cursor: first.nextCursor });

    expect(ids(first.items)).toEqual(newestFirst(all).slice(0, 3));
    expect(first.nextCursor).toBe(encodeCursor(all[2]!));
    expect(ids(rest.items)).toEqual(newestFirst(all).slice(3));
    expect(rest.nextCursor).toBeUndefined();
  });

  it('refuses a cursor it did not give', async () => {
    const { lister } = await freshTable();
    await expect(listTasks(lister, { limit: 5, cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(ValidationError);
  });

  it('answers 503 when DynamoDB refuses a Query', async () => {
    const { dynamo } = dedicatedClients(aws);
    const faults = installFaults(dynamo);
    const { lister } = await freshTable(dynamo);
    faults.add({ command: 'Query', effect: 'fail', times: 1 });

    await expectUnavailable(listTasks(lister, { limit: 5 }), 'Query');
  });
});

describe('filters', () => {
  it('keeps only the tasks of the status and the name asked for, read from their states', async () => {
    const { writer, lister } = await freshTable();
    const all = idsInShards([0, 3, 3, 9, 12, 15, 7, 3]);
    await putTasks(writer, all.slice(0, 4), 'list_a');
    await putTasks(writer, all.slice(4), 'list_b');
    await putState(writer, all[1]!, 'RUNNING', 'list_a');
    await putState(writer, all[2]!, 'SUCCEEDED', 'list_a');
    await putState(writer, all[5]!, 'RETRYING', 'list_b');

    const flat = async (query: Omit<ListQuery, 'cursor'>) => ids((await allPages(lister, query)).flatMap((p) => p.items));

    expect(await flat({ limit: 10, status: 'PENDING' })).toEqual(newestFirst([all[0]!, all[3]!, all[4]!, all[6]!, all[7]!]));
    expect(await flat({ limit: 10, status: 'RUNNING' })).toEqual([all[1]]);
    expect(await flat({ limit: 10, name: 'list_a' })).toEqual(newestFirst(all.slice(0, 4)));
    expect(await flat({ limit: 10, name: 'list_b', status: 'PENDING' })).toEqual(newestFirst([all[4]!, all[6]!, all[7]!]));
    expect(await flat({ limit: 10, name: 'list_c' })).toEqual([]);
  });

  it('lists FAILED and CANCELLED tasks from every shard, newest first, across pages of the index', async () => {
    const { writer, lister } = await freshTable();
    // Every shard, twice: index keys FAILED#00 to FAILED#15.
    const all = idsInShards(Array.from({ length: 2 * TASK_SHARDS }, (_, i) => i % TASK_SHARDS));
    await putTasks(writer, all);
    const failed = all.filter((_, i) => i % 2 === 0);
    const cancelled = all.filter((_, i) => i % 4 === 1);
    for (const id of failed) await putState(writer, id, 'FAILED');
    for (const id of cancelled) await putState(writer, id, 'CANCELLED');

    const failedPages = await allPages(lister, { limit: 5, status: 'FAILED' });
    const cancelledPages = await allPages(lister, { limit: 5, status: 'CANCELLED' });

    expect(ids(failedPages.flatMap((p) => p.items))).toEqual(newestFirst(failed));
    expect(failedPages.flatMap((p) => p.items).every((t) => t.status === 'FAILED' && t.finishedAt !== undefined)).toBe(true);
    expect(failedPages.map((p) => p.items.length)).toEqual([5, 5, 5, 1]);
    expect(ids(cancelledPages.flatMap((p) => p.items))).toEqual(newestFirst(cancelled));
  });
});

describe('states whose definition is gone', () => {
  it('lists such a state from itself, wherever it falls among the shard’s items, and gives no other task its state', async () => {
    const { writer, lister } = await freshTable();
    // All in one shard, oldest first: t1 state alone, t2 state and definition, t3 state alone, t4 definition alone, t5 state alone.
    const [t1, t2, t3, t4, t5] = idsInShards([6, 6, 6, 6, 6]) as [string, string, string, string, string];
    await putTasks(writer, [t1, t2, t3, t4, t5]);
    await putState(writer, t1, 'CANCELLED');
    await putState(writer, t2, 'RUNNING');
    await putState(writer, t3, 'SUCCEEDED');
    await putState(writer, t5, 'FAILED');
    for (const id of [t1, t3, t5]) await dropDefinition(writer, id);

    const pages = await allPages(lister, { limit: 10 });
    const listed = pages.flatMap((p) => p.items);

    expect(listed.map((t) => [t.taskId, t.status])).toEqual([
      [t5, 'FAILED'],
      [t4, 'PENDING'],
      [t3, 'SUCCEEDED'],
      [t2, 'RUNNING'],
      [t1, 'CANCELLED'],
    ]);
    expect(listed[0]).toMatchObject({ name: 'list_task', attempts: 1, finishedAt: '2026-01-01T00:01:00.000Z' });
  });

  it('keeps a state that ends a page for its definition on the next read of the shard', async () => {
    const { writer, lister } = await freshTable();
    // A page of 4 reads 4 items per shard first: x, then a's state and definition, then b's state; b's definition comes next.
    const [b, a, x] = idsInShards([11, 11, 11]) as [string, string, string];
    await putTasks(writer, [b, a, x]);
    await putState(writer, a, 'RUNNING');
    await putState(writer, b, 'RETRYING');

    const page = await listTasks(lister, { limit: 4 });

    expect(page.items.map((t) => [t.taskId, t.status])).toEqual([
      [x, 'PENDING'],
      [a, 'RUNNING'],
      [b, 'RETRYING'],
    ]);
    expect(page.nextCursor).toBeUndefined();
  });
});

describe('what a page reads', () => {
  it('reads each shard a page at a time, about its share first and twice as much each time it runs dry', async () => {
    const { dynamo } = dedicatedClients(aws);
    const queries = recordQueries(dynamo);
    const { writer, lister } = await freshTable(dynamo);
    // 8 tasks in each of shards 1 to 15, 24 in shard 0; then the 16 newest, all in shard 0.
    const older = idsInShards([...Array.from({ length: 8 * 15 }, (_, i) => 1 + (i % 15)), ...Array.from({ length: 24 }, () => 0)]);
    const newest = idsInShards(Array.from({ length: 16 }, () => 0));
    await putTasks(writer, [...older, ...newest]);
    queries.length = 0;

    const page = await listTasks(lister, { limit: 16 });

    expect(ids(page.items)).toEqual(newestFirst(newest));
    expect(page.nextCursor).toBe(encodeCursor(newest[0]!));
    // One read of each shard, of 2 × ⌈2 × 16 / 16⌉ + 2 = 6 items; shard 0 runs dry and is read once more, for 12.
    expect(queries.length).toBeLessThanOrEqual(TASK_SHARDS + 1);
    expect(queries.reduce((n, q) => n + q.items, 0)).toBeLessThanOrEqual(TASK_SHARDS * 6 + 12);
    const limits = queries.map((q) => q.limit!).sort((x, y) => x - y);
    expect(limits).toEqual([...Array<number>(TASK_SHARDS).fill(6), ...Array<number>(queries.length - TASK_SHARDS).fill(12)]);
  });

  it('answers a FAILED page that one index key fills with one read of each key', async () => {
    const { dynamo } = dedicatedClients(aws);
    const queries = recordQueries(dynamo);
    const { writer, lister } = await freshTable(dynamo);
    const all = idsInShards([4, 4, 4, 4, 4]);
    await putTasks(writer, all);
    for (const id of all) await putState(writer, id, 'FAILED');
    queries.length = 0;

    const first = await listTasks(lister, { limit: 4, status: 'FAILED' });

    expect(ids(first.items)).toEqual(newestFirst(all).slice(0, 4));
    expect(first.nextCursor).toBe(encodeCursor(all[1]!));
    expect(queries.length).toBe(TASK_SHARDS);
    expect(queries.every((q) => q.index === 'byAttention')).toBe(true);
    const rest = await listTasks(lister, { limit: 4, status: 'FAILED', cursor: first.nextCursor });
    expect(ids(rest.items)).toEqual([all[0]]);
    expect(rest.nextCursor).toBeUndefined();
  });
});

describe('a filter that few tasks match', () => {
  let lister: TaskStore;
  let bulk: string[];
  let oldFailed: string;
  beforeAll(async () => {
    const table = await freshTable();
    lister = table.lister;
    [oldFailed] = idsInShards([2]) as [string];
    bulk = Array.from({ length: SCAN_BUDGET + 2 }, () => newTaskId());
    await putTasks(table.writer, [oldFailed, ...bulk]);
    await putState(table.writer, oldFailed, 'FAILED');
  });

  it(`looks at ${SCAN_BUDGET} tasks at most for one page, and ends it short with a cursor where it stopped`, async () => {
    const first = await listTasks(lister, { limit: 5, name: 'nothing_by_this_name' });
    expect(first.items).toEqual([]);
    // The newest SCAN_BUDGET tasks were looked at: the cursor is the last of them.
    expect(first.nextCursor).toBe(encodeCursor(newestFirst(bulk)[SCAN_BUDGET - 1]!));

    const second = await listTasks(lister, { limit: 5, name: 'nothing_by_this_name', cursor: first.nextCursor });
    expect(second).toEqual({ items: [], nextCursor: undefined });
    const pending = await listTasks(lister, { limit: 5, status: 'PENDING', cursor: first.nextCursor });
    expect(ids(pending.items)).toEqual([bulk[1], bulk[0]]);
  });

  it('finds a FAILED task behind more than that many others at once, from the index', async () => {
    const page = await listTasks(lister, { limit: 5, status: 'FAILED' });
    expect(page.items.map((t) => [t.taskId, t.status])).toEqual([[oldFailed, 'FAILED']]);
    expect(page.nextCursor).toBeUndefined();
  });
});
