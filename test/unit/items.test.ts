import { describe, expect, it } from 'vitest';
import { shardOf } from '../../lib/keys';
import { INLINE_PAYLOAD_BYTES, newTaskItems, stateKey, taskIdOfSk, taskKey, toRecord, toSummary, type NewTask, type StateItem } from '../../lib/store/items';

const task: NewTask = {
  taskId: '01ARZ3NDEKTSV4RRFFQ69G5FAV',
  name: 'write_log',
  payload: { message: 'hi' },
  priority: 'default',
  maxAttempts: 3,
  timeoutSeconds: 10,
  createdAt: '2026-11-27T00:00:00.000Z',
  expiresAt: 1,
};

describe('stored items', () => {
  it('keeps a task and its state side by side under the task’s shard', () => {
    const shard = `TASK#${String(shardOf(task.taskId)).padStart(2, '0')}`;
    expect(taskKey(task.taskId)).toEqual({ pk: shard, sk: task.taskId });
    expect(stateKey(task.taskId)).toEqual({ pk: shard, sk: `${task.taskId}#state` });
    expect(taskIdOfSk(stateKey(task.taskId).sk)).toBe(task.taskId);
  });

  it('keeps a payload up to 4 KB in the task item, and a larger one in an item of its own', () => {
    const inline = newTaskItems(task, 'x'.repeat(INLINE_PAYLOAD_BYTES), INLINE_PAYLOAD_BYTES);
    expect(inline.payload).toBeUndefined();
    expect(inline.task.payloadJson).toHaveLength(INLINE_PAYLOAD_BYTES);
    const external = newTaskItems(task, 'x'.repeat(INLINE_PAYLOAD_BYTES + 1), INLINE_PAYLOAD_BYTES + 1);
    expect(external.task).toMatchObject({ payloadBytes: INLINE_PAYLOAD_BYTES + 1 });
    expect(external.task.payloadJson).toBeUndefined();
    expect(external.payload).toEqual({ pk: `PAYLOAD#${task.taskId}`, sk: 'payload', payloadJson: 'x'.repeat(INLINE_PAYLOAD_BYTES + 1), expiresAt: 1 });
  });

  it('reads a task with no state as PENDING, run 1', () => {
    const { task: item } = newTaskItems(task, '{"message":"hi"}', 16);
    expect(toRecord(item, undefined, '{"message":"hi"}')).toMatchObject({ status: 'PENDING', run: 1, attempts: 0, payload: { message: 'hi' }, attemptLog: [], updatedAt: task.createdAt });
  });

  it('shows claimableAt as the lease while RUNNING and as the backoff while RETRYING', () => {
    const { task: item } = newTaskItems(task, '{}', 2);
    const state = (status: StateItem['status']): StateItem => ({ ...stateKey(task.taskId), ...item, status, run: 1, attempts: 1, updatedAt: 'u', claimableAt: 5 });
    expect(toRecord(item, state('RUNNING'), '{}')).toMatchObject({ leaseExpiresAt: 5 });
    expect(toRecord(item, state('RUNNING'), '{}').nextAttemptAt).toBeUndefined();
    expect(toRecord(item, state('RETRYING'), '{}')).toMatchObject({ nextAttemptAt: 5 });
    expect(toSummary(undefined, state('FAILED'))).toMatchObject({ taskId: task.taskId, status: 'FAILED', attempts: 1 });
  });
});
