import { describe, expectTypeOf, it } from 'vitest';
import type * as z from 'zod/mini';
import { createClient } from '../../lib/client';
import type { Accepted, BatchResult, Stats, Task, TaskPage, TaskSummary } from '../../lib/client';
import type { StatsView, TaskAccepted, TaskPage as TaskPageSchema, TaskSummaryView } from '../../lib/http/schemas';
import type * as tasks from '../../lib/tasks';

/**
 * Compile-time checks, run by `npm run typecheck` (tsc reads test/): a client
 * typed by the task definitions refuses a wrong name or payload, and its view
 * types are the documented schemas' output.
 */
const client = createClient<typeof tasks>({ baseUrl: 'http://localhost:3000', apiKey: 'local-dev-key' });

describe('the client’s types', () => {
  it('take a task name and that task’s payload, and nothing else', () => {
    // Only types are checked: these calls are never awaited.
    expectTypeOf(client.enqueue).toBeCallableWith('write_log', { message: 'hi' });
    expectTypeOf(client.enqueue).toBeCallableWith('sleep', { ms: 5 }, { delaySeconds: 10, priority: 'high' });
    const never = () => {
      // @ts-expect-error: message must be a string
      void client.enqueue('write_log', { message: 42 });
      // @ts-expect-error: write_log's payload has no ms
      void client.enqueue('write_log', { ms: 5 });
      // @ts-expect-error: no task is named send_email
      void client.enqueue('send_email', { to: 'a@example.com' });
      // @ts-expect-error: a batch item's payload is its own task's
      void client.enqueueBatch([{ name: 'sleep', payload: { message: 'x' } }]);
    };
    expectTypeOf(never).toBeFunction();
  });

  it('type a task’s payload and result by its name', () => {
    type T = Task<typeof tasks>;
    expectTypeOf<Extract<T, { name: 'sleep' }>['payload']>().toEqualTypeOf<{ ms: number }>();
    expectTypeOf<Extract<T, { name: 'write_log' }>['result']>().toEqualTypeOf<{ message: string } | { truncated: true; reason: string; sizeBytes?: number } | null>();
    expectTypeOf<T['name']>().toEqualTypeOf<'write_log' | 'sleep' | 'limited_sleep' | 'throttled_log' | 'fail' | 'flaky' | 'checksum' | 'daily_report' | 'double' | 'sum'>();
    expectTypeOf(createClient({ baseUrl: '' }).enqueue).parameter(1).toEqualTypeOf<unknown>();
  });

  it('are what the OpenAPI document describes', () => {
    expectTypeOf<TaskSummary>().toEqualTypeOf<z.output<typeof TaskSummaryView>>();
    expectTypeOf<Accepted>().toEqualTypeOf<z.output<typeof TaskAccepted>>();
    expectTypeOf<TaskPage>().toEqualTypeOf<z.output<typeof TaskPageSchema>>();
    expectTypeOf<Stats>().toEqualTypeOf<z.output<typeof StatsView>>();
    expectTypeOf<BatchResult['accepted']>().toEqualTypeOf<number>();
  });
});
