import { describe, expect, it } from 'vitest';
import type { Engine } from '../../lib/engine';
import { UnknownTaskError, ValidationError } from '../../lib/errors';
import { issuesOf, newRecord, prepareTask } from '../../lib/preparedTask';
import { fromStored } from '../../lib/tracing/storedTrace';
import '../../lib/tasks';
import * as z from '../../lib/zod';

/** Only what prepareTask reads of an engine: the clock, the retention and the queues (the enqueue span names its queue). */
const now = new Date('2026-11-27T12:00:00.000Z');
const queueUrls = { high: 'https://sqs.us-east-1.amazonaws.com/000000000000/tasks-high', default: 'https://sqs.us-east-1.amazonaws.com/000000000000/tasks-default' };
const engine = { now: () => now, config: { retentionDays: 30, queueUrls } } as unknown as Engine;

describe('prepareTask', () => {
  it('refuses options out of range with the issue for each, by path', () => {
    const error = (() => {
      try {
        prepareTask(engine, 'write_log', { message: 'm' }, { delaySeconds: -1, maxAttempts: 0 });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toBe('Invalid enqueue options');
    const details = (error as ValidationError).details as Array<{ path: string; message: string }>;
    expect(details.map((d) => d.path).sort()).toEqual(['delaySeconds', 'maxAttempts']);
    expect(details.every((d) => d.message.length > 0)).toBe(true);
  });

  it('refuses an unknown task by its name', () => {
    expect(() => prepareTask(engine, 'no_such_task', {}, {})).toThrow(UnknownTaskError);
  });

  it('decides the record: options over the task’s defaults, the delay kept, expiry from its first run', () => {
    const prepared = prepareTask(engine, 'write_log', { message: 'm' }, { delaySeconds: 30, priority: 'high', maxAttempts: 2 });
    expect(prepared.task).toMatchObject({ name: 'write_log', priority: 'high', maxAttempts: 2, delaySeconds: 30, createdAt: now.toISOString() });
    // Kept its retention from when it may first run: 30 s after now.
    expect(prepared.task.expiresAt).toBe(now.getTime() / 1000 + 30 + 30 * 86_400);
    expect(newRecord(prepared)).toMatchObject({ taskId: prepared.task.taskId, status: 'PENDING', delaySeconds: 30, payload: { message: 'm' }, attempts: 0, run: 1 });
    // No trace around it and no SDK: a trace of its own (sampled, random ids), which the record shows.
    const stored = fromStored(prepared.task)!;
    expect(stored.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(newRecord(prepared).traceId).toBe(stored.traceparent.slice(3, 35));
    const undelayed = prepareTask(engine, 'write_log', { message: 'm' }, { delaySeconds: 0 });
    expect(undelayed.task.delaySeconds).toBeUndefined();
    // The same request but for its delay is another request.
    expect(undelayed.requestHash).not.toBe(prepareTask(engine, 'write_log', { message: 'm' }, { delaySeconds: 1 }).requestHash);
  });

  it('keeps at most 20 issues, each with its path joined by dots', () => {
    const schema = z.object({ list: z.array(z.object({ n: z.number() })) });
    const parsed = z.safeParse(schema, { list: Array.from({ length: 30 }, () => ({ n: 'x' })) });
    expect(parsed.success).toBe(false);
    const issues = issuesOf(parsed.error!);
    expect(issues).toHaveLength(20);
    expect(issues[3]).toEqual({ path: 'list.3.n', message: expect.any(String) });
  });
});
