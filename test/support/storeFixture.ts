import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../lib/clients';
import type { Engine } from '../../lib/engine';
import { newTaskId } from '../../lib/keys';
import { copiedFields, newTaskItems, stateKey, type PayloadItem, type StateItem, type TaskItem } from '../../lib/store/items';
import { TaskStore } from '../../lib/store/taskStore';
import type { TaskStatus } from '../../lib/types';
import { createTestEngine, dedicatedClients, startLocalAws, type LocalAws } from './aws';
import { installFaults, type FaultKit } from './faults';

/** What the TaskStore tests (test/integration/taskStore-*.test.ts) work on. */
export interface StoreUnderTest {
  aws: LocalAws;
  base: Engine;
  /** The store as the api uses it. */
  store: TaskStore;
  /** The same table through a client of its own, with a fault kit. */
  faulty: TaskStore;
  faults: FaultKit;
}

/** Local servers, a fresh table, and the store on it twice: as the api has it, and with faults. */
export async function openStoreUnderTest(): Promise<StoreUnderTest> {
  const aws = await startLocalAws();
  const base = await createTestEngine(aws);
  const { dynamo } = dedicatedClients(aws);
  const faults = installFaults(dynamo);
  return { aws, base, store: base.store, faulty: new TaskStore(createDocumentClient(dynamo), base.config.tableName), faults };
}

/** A new task's items; a payload of `payloadBytes` or more goes to an item of its own. */
export function newTask(payloadBytes = 10): { task: TaskItem; payload?: PayloadItem } {
  const payload = { blob: 'x'.repeat(payloadBytes) };
  const json = JSON.stringify(payload);
  return newTaskItems(
    { taskId: newTaskId(), name: 'store_task', payload, priority: 'default', maxAttempts: 3, timeoutSeconds: 30, createdAt: '2026-01-01T00:00:00.000Z', expiresAt: Math.floor(Date.parse('2026-02-01T00:00:00Z') / 1000) },
    json,
    Buffer.byteLength(json),
  );
}

/** A new task written through `store`: its definition. */
export async function createdTask(store: TaskStore, payloadBytes = 10): Promise<TaskItem> {
  const items = newTask(payloadBytes);
  await store.create(items);
  return items.task;
}

/** A state item written as a worker or client would have left it. */
export async function putStateOf(store: TaskStore, task: TaskItem, fields: Partial<StateItem> & { status: TaskStatus }): Promise<StateItem> {
  const state: StateItem = { ...stateKey(task.taskId), ...copiedFields(task), run: 1, attempts: 1, updatedAt: '2026-01-01T00:01:00.000Z', attemptLog: [], ...fields };
  await store.client.send(new PutCommand({ TableName: store.tableName, Item: state }));
  return state;
}
