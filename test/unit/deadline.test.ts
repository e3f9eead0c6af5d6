import { afterEach, describe, expect, it, vi } from 'vitest';
import { boundCalls, DeadlineExceededError, pauseWithin, settleBy, withBudget } from '../../lib/deadline';

/** The one middleware boundCalls adds to a client's stack, and how it was added. */
function boundMiddleware() {
  const added: Array<{ middleware: (next: (args: unknown) => Promise<unknown>) => (args: unknown) => Promise<unknown>; options: unknown }> = [];
  const client = { middlewareStack: { add: (middleware: never, options: unknown) => added.push({ middleware, options }) } };
  boundCalls(client);
  boundCalls(client);
  return { added, call: (next: (args: unknown) => Promise<unknown>) => added[0]!.middleware(next)({ input: {} }) };
}

const never = () => new Promise<never>(() => undefined);
const budgetIn = (ms: number) => ({ work: Date.now() + ms, end: Date.now() + ms });

afterEach(() => vi.useRealTimers());

describe('boundCalls', () => {
  it('adds its middleware once per client, first of the initialize step', () => {
    const { added } = boundMiddleware();

    expect(added).toHaveLength(1);
    expect(added[0]!.options).toEqual({ step: 'initialize', name: 'invocationDeadline', priority: 'high' });
  });

  it('lets a call outside any budget through untouched', async () => {
    const { call } = boundMiddleware();

    await expect(call(async () => 'answered')).resolves.toBe('answered');
  });

  it('refuses a call whose budget has run out, without sending it', async () => {
    const { call } = boundMiddleware();
    const next = vi.fn(async () => 'sent');

    const refused = withBudget(budgetIn(0), () => call(next));

    await expect(refused).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(next).not.toHaveBeenCalled();
  });

  it('gives up a call still unanswered at the end of its budget, and lets one answered in time through', async () => {
    const { call } = boundMiddleware();
    const started = Date.now();

    const hung = withBudget(budgetIn(80), () => call(never));

    await expect(hung).rejects.toThrow(new DeadlineExceededError());
    expect(Date.now() - started).toBeGreaterThanOrEqual(70);
    await expect(withBudget(budgetIn(1_000), () => call(async () => 'in time'))).resolves.toBe('in time');
  });
});

describe('DeadlineExceededError', () => {
  it('says what happened, by name', () => {
    expect(new DeadlineExceededError()).toMatchObject({ name: 'DeadlineExceededError', message: 'The invocation’s deadline passed before AWS answered' });
  });
});

describe('settleBy', () => {
  it('leaves no unhandled rejection behind when the promise it gave up on rejects later', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const late = new Promise((_, reject) => setTimeout(() => reject(new Error('late failure')), 30));

      await expect(settleBy(late, Date.now() + 5, () => new Error('gave up'))).rejects.toThrow('gave up');
      await new Promise((r) => setTimeout(r, 60));

      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('pauseWithin', () => {
  it('does not pause when the budget has exactly that long left, and pauses when it has more', async () => {
    vi.useFakeTimers();
    const budget = budgetIn(100);

    await withBudget(budget, async () => {
      expect(await pauseWithin(100)).toBe(false);
      const paused = pauseWithin(99);
      await vi.advanceTimersByTimeAsync(99);
      expect(await paused).toBe(true);
    });
  });
});
