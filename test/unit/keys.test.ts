import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib/errors';
import { decodeCursor, encodeCursor, isTaskId, newTaskId, shardOf, TASK_SHARDS } from '../../lib/keys';

describe('task ids and cursors', () => {
  it('makes ids that sort by creation', () => {
    const ids = Array.from({ length: 100 }, newTaskId);
    expect([...ids].sort()).toEqual(ids);
    expect(ids.every(isTaskId)).toBe(true);
    expect(isTaskId('01ARZ3NDEKTSV4RRFFQ69G5FAU')).toBe(false);
  });

  it('spreads ids over every shard, and keeps a task on one', () => {
    const ids = Array.from({ length: 400 }, newTaskId);
    expect(new Set(ids.map(shardOf)).size).toBe(TASK_SHARDS);
    expect(shardOf(ids[0]!)).toBe(shardOf(ids[0]!));
  });

  it('round-trips a cursor and refuses a forged one', () => {
    const id = newTaskId();
    expect(decodeCursor(encodeCursor(id))).toBe(id);
    expect(() => decodeCursor('abc')).toThrow(ValidationError);
    expect(() => decodeCursor(Buffer.from(`v1:${id}' OR 1=1`).toString('base64url'))).toThrow(ValidationError);
    expect(() => decodeCursor(Buffer.from(`v2:${id}`).toString('base64url'))).toThrow(ValidationError);
  });
});
