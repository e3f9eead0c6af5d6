import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, getTask } from '../../lib/task';

describe('defineTask', () => {
  it('refuses bad options and duplicate names', () => {
    const run = () => undefined;
    expect(() => defineTask({ name: 'bad name!', payload: z.object({}), run })).toThrow(/must match/);
    expect(() => defineTask({ name: 'unit_zero', payload: z.object({}), maxAttempts: 0, run })).toThrow(/maxAttempts/);
    expect(() => defineTask({ name: 'unit_slow', payload: z.object({}), timeoutSeconds: 841, run })).toThrow(/timeoutSeconds/);
    defineTask({ name: 'unit_once', payload: z.object({}), run });
    expect(() => defineTask({ name: 'unit_once', payload: z.object({}), run })).toThrow(/already defined/);
  });

  it('applies the defaults and registers the task under its name', () => {
    const task = defineTask({ name: 'unit_defaults', payload: z.object({}), run: () => undefined });
    expect(task).toMatchObject({ maxAttempts: 3, timeoutSeconds: 30, priority: 'default', backoff: { baseSeconds: 2, maxSeconds: 300 } });
    expect(getTask('unit_defaults')).toBe(task);
  });
});
