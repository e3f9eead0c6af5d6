import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { callTable, conditionalWrite } from '../store/dynamo';
import type { TaskStore } from '../store/taskStore';

/**
 * What the table keeps of each recurring schedule: whether it is paused, and
 * its last run. One small item per schedule, under one key (a service has
 * tens of schedules, not millions); the schedules themselves are code.
 */
export interface ScheduleState {
  name: string;
  paused?: boolean;
  /** The scheduled time (ISO 8601) of the last tick that enqueued a task. */
  lastRunAt?: string;
  lastTaskId?: string;
  updatedAt?: string;
}

const SCHEDULES_PK = 'SCHEDULE';
const scheduleKey = (name: string) => ({ pk: SCHEDULES_PK, sk: name });

/** Every schedule's state, by name (a schedule never paused nor run has none). */
export async function scheduleStates(store: TaskStore): Promise<Map<string, ScheduleState>> {
  const states = new Map<string, ScheduleState>();
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await callTable('Query', () =>
      store.client.send(
        new QueryCommand({ TableName: store.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': SCHEDULES_PK }, ConsistentRead: true, ExclusiveStartKey: startKey }),
      ),
    );
    for (const item of out.Items ?? []) states.set(String(item.sk), { ...(item as ScheduleState), name: String(item.sk) });
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return states;
}

/** One schedule's state, read consistently: a tick reads it to know whether it is paused. */
export async function scheduleState(store: TaskStore, name: string): Promise<ScheduleState | undefined> {
  const out = await callTable('GetItem', () => store.client.send(new GetCommand({ TableName: store.tableName, Key: scheduleKey(name), ConsistentRead: true })));
  return out.Item ? { ...(out.Item as ScheduleState), name } : undefined;
}

/**
 * Pauses or resumes a schedule. Unconditional, so it needs no judging twice:
 * a write the SDK sends again after it landed sets the same flag, and two
 * clients that disagree leave the last one's word.
 */
export async function setPaused(store: TaskStore, name: string, paused: boolean, now: Date): Promise<ScheduleState> {
  const out = await callTable('UpdateItem', () =>
    store.client.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: scheduleKey(name),
        UpdateExpression: 'SET paused = :paused, updatedAt = :now',
        ExpressionAttributeValues: { ':paused': paused, ':now': now.toISOString() },
        ReturnValues: 'ALL_NEW',
      }),
    ),
  );
  return { ...(out.Attributes as ScheduleState), name };
}

/**
 * Records a tick's run, unless a later tick's is recorded already (deliveries
 * come out of order). Its condition may fail because a later tick won, or
 * because this very write landed on an earlier try (the SDK sent it again):
 * either way what is recorded is right, so a failed condition is no error.
 */
export async function recordRun(store: TaskStore, name: string, scheduledTime: string, taskId: string, now: Date): Promise<void> {
  await conditionalWrite('UpdateItem', () =>
    store.client.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: scheduleKey(name),
        UpdateExpression: 'SET lastRunAt = :at, lastTaskId = :taskId, updatedAt = :now',
        ConditionExpression: 'attribute_not_exists(lastRunAt) OR lastRunAt < :at',
        ExpressionAttributeValues: { ':at': scheduledTime, ':taskId': taskId, ':now': now.toISOString() },
      }),
    ),
  );
}
