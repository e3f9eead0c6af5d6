import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { BatchGetCommandInput, BatchGetCommandOutput } from '@aws-sdk/lib-dynamodb';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../lib/clients';
import type { Engine } from '../../lib/engine';
import { DependencyUnavailableError } from '../../lib/errors';
import { newTaskId } from '../../lib/keys';
import { INLINE_PAYLOAD_BYTES, type StateItem, type TaskItem } from '../../lib/store/items';
import { TaskStore } from '../../lib/store/taskStore';
import type { TaskStatus } from '../../lib/types';
import { dedicatedClients, type LocalAws } from '../support/aws';
import { expectUnavailable, installFaults, leaveUnprocessed, type FaultKit } from '../support/faults';
import { createdTask, newTask, openStoreUnderTest, putStateOf } from '../support/storeFixture';

/**
 * TaskStore against real dynalite, writing and reading: the items a new task
 * is written as (one by one, or 25 to a batch with what DynamoDB leaves
 * unprocessed), and how it is read (consistent where it must be, the
 * worker's batch cheaply). Its state changes are in taskStore-transitions.
 */
let aws: LocalAws;
let base: Engine;
let store: TaskStore;
let faulty: TaskStore;
let faults: FaultKit;

beforeAll(async () => {
  ({ aws, base, store, faulty, faults } = await openStoreUnderTest());
});
afterEach(() => faults.clear());
afterAll(async () => aws.close());

const created = (payloadBytes?: number) => createdTask(store, payloadBytes);
const putState = (task: TaskItem, fields: Partial<StateItem> & { status: TaskStatus }) => putStateOf(store, task, fields);

describe('create', () => {
  it('writes a definition once: a second write of the same id leaves the first as it was', async () => {
    const items = newTask();
    await store.create(items);
    await store.create({ task: { ...items.task, name: 'other_name' } });
    expect((await store.get(items.task.taskId))!.name).toBe('store_task');
  });

  it('keeps a large payload in an item of its own, and reads it back with the task', async () => {
    const task = await created(INLINE_PAYLOAD_BYTES + 10);
    expect(task.payloadJson).toBeUndefined();
    expect((await store.get(task.taskId))!.payload).toEqual({ blob: 'x'.repeat(INLINE_PAYLOAD_BYTES + 10) });
  });

  it('answers 503 naming PutItem when the definition or the payload cannot be written', async () => {
    faults.add({ command: 'PutItem', effect: 'fail', when: (input: { Item: { sk: string } }) => input.Item.sk !== 'payload' });
    await expectUnavailable(faulty.create(newTask()), 'PutItem');
    faults.clear();
    faults.add({ command: 'PutItem', effect: 'fail', when: (input: { Item: { sk: string } }) => input.Item.sk === 'payload' });
    await expectUnavailable(faulty.create(newTask(INLINE_PAYLOAD_BYTES + 10)), 'PutItem');
  });
});

/** A store on a client of its own, under load: BatchWriteItem writes only the requests `keep` picks (leaveUnprocessed). */
function storeLeavingUnprocessed(keep: (call: number, request: { PutRequest?: { Item?: Record<string, unknown> } }) => boolean): { writer: TaskStore; seen: { calls: Array<{ at: number; n: number }> } } {
  const { dynamo } = dedicatedClients(aws);
  const seen = leaveUnprocessed(installFaults(dynamo), keep);
  return { writer: new TaskStore(createDocumentClient(dynamo), base.config.tableName), seen };
}

describe('createMany', () => {
  it('writes the payload items of large payloads along with their tasks', async () => {
    const batch = [newTask(INLINE_PAYLOAD_BYTES + 1), newTask(), newTask(INLINE_PAYLOAD_BYTES + 2)];
    expect((await store.createMany(batch)).size).toBe(0);
    for (const { task } of batch) expect((await store.get(task.taskId))!.payload).toEqual(JSON.parse(task.payloadJson ?? `{"blob":"${'x'.repeat(task.payloadBytes! - 11)}"}`));
  });

  it('sends what DynamoDB left unprocessed again, and stops once all of it landed', async () => {
    const { writer, seen } = storeLeavingUnprocessed((call, request) => call > 1 || request.PutRequest?.Item?.sk === 'payload');
    const batch = [newTask(), newTask(INLINE_PAYLOAD_BYTES + 1), newTask()];

    expect((await writer.createMany(batch)).size).toBe(0);

    expect(seen.calls.map((c) => c.n)).toEqual([4, 3]);
    for (const { task } of batch) expect((await store.get(task.taskId))?.status).toBe('PENDING');
  });

  it('gives up on requests left unprocessed after four tries, pausing longer each time, and names their tasks', async () => {
    const big = newTask(INLINE_PAYLOAD_BYTES + 1);
    const small = newTask();
    // The payload item of `big` is never processed; everything else is.
    const { writer, seen } = storeLeavingUnprocessed((_call, request) => request.PutRequest?.Item?.pk !== `PAYLOAD#${big.task.taskId}`);

    const failed = await writer.createMany([small, big]);

    expect([...failed.keys()]).toEqual([big.task.taskId]);
    const error = failed.get(big.task.taskId)!;
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(error.dependency).toBe('dynamodb');
    expect(error.message).toBe('DynamoDB BatchWriteItem failed');
    expect(error.cause).toBe('left unprocessed');
    expect(seen.calls.map((c) => c.n)).toEqual([3, 1, 1, 1]);
    // Pauses of 100, 200 and 400 ms between the tries (timers never fire early).
    const gaps = seen.calls.slice(1).map((c, i) => c.at - seen.calls[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(95);
    expect(gaps[1]).toBeGreaterThanOrEqual(195);
    expect(gaps[2]).toBeGreaterThanOrEqual(395);
    expect((await store.get(small.task.taskId))?.status).toBe('PENDING');
  });

  it('names every task of a batch that DynamoDB refused outright', async () => {
    faults.add({ command: 'BatchWriteItem', effect: 'fail', times: 1 });
    const batch = [newTask(), newTask(INLINE_PAYLOAD_BYTES + 1), newTask()];

    const failed = await faulty.createMany(batch);

    expect([...failed.keys()].sort()).toEqual(batch.map((b) => b.task.taskId).sort());
    for (const error of failed.values()) {
      expect(error.dependency).toBe('dynamodb');
      expect(error.message).toBe('DynamoDB BatchWriteItem failed');
      expect(error.cause).toMatchObject({ name: 'ServiceUnavailable' });
    }
  });
});

describe('reads', () => {
  it('reads a state strongly consistent, and answers 503 naming GetItem when it cannot', async () => {
    const task = await created();
    await putState(task, { status: 'RUNNING' });
    expect(await faulty.getState(task.taskId)).toMatchObject({ status: 'RUNNING', attempts: 1 });
    expect(faults.calls.filter((c) => c.command === 'GetItem').map((c) => (c.input as { ConsistentRead?: boolean }).ConsistentRead)).toEqual([true]);

    faults.add({ command: 'GetItem', effect: 'fail' });
    await expectUnavailable(faulty.getState(task.taskId), 'GetItem');
  });

  it('reads a payload of its own strongly consistent; one gone reads as null; 503 naming GetItem when it cannot be read', async () => {
    const task = await created(INLINE_PAYLOAD_BYTES + 1);
    expect((await faulty.get(task.taskId))!.payload).toEqual({ blob: 'x'.repeat(INLINE_PAYLOAD_BYTES + 1) });
    expect(faults.calls.filter((c) => c.command === 'GetItem').map((c) => (c.input as { ConsistentRead?: boolean }).ConsistentRead)).toEqual([true]);

    faults.add({ command: 'GetItem', effect: 'fail' });
    await expectUnavailable(faulty.get(task.taskId), 'GetItem');

    await store.client.send(new DeleteCommand({ TableName: store.tableName, Key: { pk: `PAYLOAD#${task.taskId}`, sk: 'payload' } }));
    expect((await store.get(task.taskId))!.payload).toBeNull();
  });

  it('answers undefined for a task that does not exist', async () => {
    expect(await store.get(newTaskId())).toBeUndefined();
  });
});

/**
 * A replica behind the leader: eventually consistent BatchGetItem reads on
 * `client` do not see the items `hidden` names yet. Records each call's
 * consistency and keys.
 */
function staleReplica(client: DynamoDBClient, hidden: Set<string>): Array<{ consistent: boolean; keys: string[] }> {
  const seen: Array<{ consistent: boolean; keys: string[] }> = [];
  installFaults(client).add({
    command: 'BatchGetItem',
    effect: 'shape',
    shape: async (input: BatchGetCommandInput, send) => {
      const [table, request] = Object.entries(input.RequestItems!)[0]!;
      const consistent = request.ConsistentRead === true;
      seen.push({ consistent, keys: request.Keys!.map((k) => `${String(k.pk)}|${String(k.sk)}`) });
      const output = (await send(input)) as BatchGetCommandOutput;
      if (consistent) return output;
      return { ...output, Responses: { [table]: (output.Responses?.[table] ?? []).filter((item) => !hidden.has(String(item.sk))) } };
    },
  });
  return seen;
}

describe('load', () => {
  it('reads the batch eventually consistent, and again strongly only what that read missed', async () => {
    const tasks = [await created(), await created(), await created()];
    const { dynamo } = dedicatedClients(aws);
    const seen = staleReplica(dynamo, new Set([tasks[1]!.taskId]));
    const reader = new TaskStore(createDocumentClient(dynamo), store.tableName);

    const loaded = await reader.load(tasks.map((t) => t.taskId));

    expect([...loaded.keys()].sort()).toEqual(tasks.map((t) => t.taskId).sort());
    expect(loaded.get(tasks[1]!.taskId)).toEqual({ task: tasks[1], payloadJson: tasks[1]!.payloadJson });
    // Payloads inline: nothing else is read.
    expect(seen).toEqual([
      { consistent: false, keys: expect.arrayContaining(tasks.map((t) => `${t.pk}|${t.sk}`)) as unknown as string[] },
      { consistent: true, keys: [`${tasks[1]!.pk}|${tasks[1]!.sk}`] },
    ]);
  });

  it('reads payloads of their own with the batch, and leaves out a task whose payload item is not written yet', async () => {
    const big = await created(INLINE_PAYLOAD_BYTES + 1);
    const orphan = newTask(INLINE_PAYLOAD_BYTES + 1);
    await store.create({ task: orphan.task });
    const small = await created();

    const loaded = await store.load([big.taskId, orphan.task.taskId, small.taskId]);

    expect([...loaded.keys()].sort()).toEqual([big.taskId, small.taskId].sort());
    expect(JSON.parse(loaded.get(big.taskId)!.payloadJson!)).toEqual({ blob: 'x'.repeat(INLINE_PAYLOAD_BYTES + 1) });
  });
});

