import { DeleteCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { messageBody, parseMessage, type OutgoingMessage } from '../message';
import type { TaskQueue } from '../queue';
import { callTable } from '../store/dynamo';
import type { TaskStore } from '../store/taskStore';
import type { Priority } from '../types';
import type { TaskTimers } from './timers';

/**
 * Task timers as items of the task table, for where there is no EventBridge
 * Scheduler (`npm start`, the tests): one item per timer under one key,
 * sorted by when it is due, which `fireDueTimers` sends and deletes. Being in
 * the table, they outlive a restart: a timer that came due while nothing ran
 * fires at the next start. Not for production: one partition key holds them
 * all, and something must poll it.
 */
const TIMERS_PK = 'TIMER';
/** A timer nobody fired is removed by TTL this long after it was due. */
const KEEP_AFTER_DUE_SECONDS = 14 * 86_400;
/** Timers fired per Query, at most. */
const PAGE = 100;

interface TimerItem {
  pk: string;
  sk: string;
  body: string;
  priority: Priority;
  expiresAt: number;
}

const timerKey = (taskId: string, run: number, runAtMs: number) => ({ pk: TIMERS_PK, sk: `${new Date(runAtMs).toISOString()}#${taskId}#${run}` });

export class TableTimers implements TaskTimers {
  constructor(private readonly store: TaskStore) {}

  async set(out: OutgoingMessage, runAtMs: number): Promise<void> {
    const { taskId, run } = out.message;
    // Unconditional: the same task's run at the same time is the same item, however often it is written.
    const item: TimerItem = {
      ...timerKey(taskId, run, runAtMs),
      body: messageBody(out.message),
      priority: out.priority,
      expiresAt: Math.ceil(runAtMs / 1000) + KEEP_AFTER_DUE_SECONDS,
    };
    await callTable('PutItem', () => this.store.client.send(new PutCommand({ TableName: this.store.tableName, Item: item })));
  }

  async clear(taskId: string, run: number, runAtMs: number): Promise<void> {
    await callTable('DeleteItem', () => this.store.client.send(new DeleteCommand({ TableName: this.store.tableName, Key: timerKey(taskId, run, runAtMs) })));
  }
}

/**
 * Sends every timer due by `nowMs` to its queue, then deletes it; returns how
 * many it sent. Stopped between the two (a crash), a timer is sent again by
 * the next call: the worker's claim makes the second message harmless.
 */
export async function fireDueTimers(store: TaskStore, queue: TaskQueue, nowMs: number): Promise<number> {
  let sent = 0;
  for (;;) {
    const out = await callTable('Query', () =>
      store.client.send(
        new QueryCommand({
          TableName: store.tableName,
          KeyConditionExpression: 'pk = :pk AND sk < :due',
          // Every key due at or before now sorts below the next millisecond's.
          ExpressionAttributeValues: { ':pk': TIMERS_PK, ':due': new Date(nowMs + 1).toISOString() },
          ConsistentRead: true,
          Limit: PAGE,
        }),
      ),
    );
    const items = (out.Items ?? []) as TimerItem[];
    for (const item of items) {
      const parsed = parseMessage(item.body);
      if (parsed.ok) {
        await queue.send({ message: parsed.message, priority: item.priority });
        sent++;
      }
      await callTable('DeleteItem', () => store.client.send(new DeleteCommand({ TableName: store.tableName, Key: { pk: item.pk, sk: item.sk } })));
    }
    if (items.length < PAGE) return sent;
  }
}
