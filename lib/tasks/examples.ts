import { createHash } from 'node:crypto';
import { setTimeout as sleepFor } from 'node:timers/promises';
import * as z from '../zod';
import { defineTask, type TaskContext } from '../task';

/** The seed's `write_log`: one structured log line; the message is kept as the result. */
export const writeLog = defineTask({
  name: 'write_log',
  payload: z.object({ message: z.string().check(z.minLength(1), z.maxLength(10_000)) }),
  result: z.object({ message: z.string() }),
  maxAttempts: 3,
  timeoutSeconds: 10,
  run: ({ message }, ctx) => {
    ctx.logger.info(message, { event: 'write_log' });
    return { message };
  },
});

const SleepPayload = z.object({ ms: z.int().check(z.minimum(0), z.maximum(600_000)) });
const SleepResult = z.object({ sleptMs: z.int() });

/** Waits `ms`, watching its AbortSignal, and reports its progress each second (ctx.progress). */
async function sleepReporting({ ms }: { ms: number }, ctx: TaskContext): Promise<{ sleptMs: number }> {
  const started = Date.now();
  const report = () => ctx.progress({ done: Math.min(ms, Date.now() - started), total: ms });
  const ticks = setInterval(() => void report(), 1_000);
  try {
    await sleepFor(ms, undefined, { signal: ctx.signal });
  } finally {
    clearInterval(ticks);
  }
  // The last value goes out with the outcome: no write of its own.
  void ctx.progress({ done: ms, total: ms });
  return { sleptMs: ms };
}

/** Waits `ms`, watching its AbortSignal: for timeouts, draining, load, progress and cancelling a running task. */
export const sleep = defineTask({
  name: 'sleep',
  payload: SleepPayload,
  result: SleepResult,
  maxAttempts: 1,
  timeoutSeconds: 660,
  run: sleepReporting,
});

/** `sleep`, at most two at once across every worker (lib/control): the others wait their turn, and are not charged an attempt. */
export const limitedSleep = defineTask({
  name: 'limited_sleep',
  payload: SleepPayload,
  result: SleepResult,
  maxAttempts: 1,
  timeoutSeconds: 660,
  concurrency: 2,
  run: sleepReporting,
});

/** `write_log`, at most two a second (lib/control): a burst of them starts one every half second. */
export const throttledLog = defineTask({
  name: 'throttled_log',
  payload: z.object({ message: z.string().check(z.minLength(1), z.maxLength(10_000)) }),
  result: z.object({ message: z.string(), startedAt: z.string() }),
  maxAttempts: 3,
  timeoutSeconds: 10,
  rateLimit: { max: 2, per: '1 second' },
  run: ({ message }, ctx) => {
    ctx.logger.info(message, { event: 'throttled_log' });
    return { message, startedAt: new Date().toISOString() };
  },
});

/** Always throws `Error(message)`: shows retries, backoff and FAILED. */
export const fail = defineTask({
  name: 'fail',
  payload: z.object({ message: z.string().check(z.maxLength(1_000)) }),
  maxAttempts: 3,
  backoff: { baseSeconds: 1, maxSeconds: 10 },
  run: ({ message }) => {
    throw new Error(message);
  },
});

/**
 * Fails its first `failTimes` attempts, then succeeds. It counts by the attempt
 * number the engine passes, so it needs no state of its own; `key` only labels it.
 */
export const flaky = defineTask({
  name: 'flaky',
  payload: z.object({ failTimes: z.int().check(z.minimum(0), z.maximum(24)), key: z.string().check(z.minLength(1), z.maxLength(200)) }),
  result: z.object({ key: z.string(), succeededOnAttempt: z.int() }),
  maxAttempts: 5,
  backoff: { baseSeconds: 1, maxSeconds: 10 },
  run: ({ failTimes, key }, ctx) => {
    if (ctx.attempt <= failTimes) throw new Error(`flaky ${key}: failing attempt ${ctx.attempt} of ${failTimes}`);
    return { key, succeededOnAttempt: ctx.attempt };
  },
});

/**
 * The SHA-256 of `data` and its size in UTF-8 bytes: send it a large payload
 * (up to 5 MB: over 6 KB it travels through S3, docs/payloads.md) and compare
 * the hash with your own, to see that the handler got every byte.
 */
export const checksum = defineTask({
  name: 'checksum',
  payload: z.object({ data: z.string() }),
  result: z.object({ sha256: z.string(), bytes: z.int() }),
  maxAttempts: 3,
  timeoutSeconds: 30,
  run: ({ data }) => ({ sha256: createHash('sha256').update(data, 'utf8').digest('hex'), bytes: Buffer.byteLength(data, 'utf8') }),
});

/**
 * A recurring task: every weekday at 9:00 in Paris, summer and winter time
 * alike, it writes one log line. On AWS its schedule is an EventBridge
 * Scheduler schedule in the template; under `npm start` the local runtime
 * ticks it. `GET /schedules` shows its next run (docs/scheduling.md).
 */
export const dailyReport = defineTask({
  name: 'daily_report',
  payload: z.object({}),
  result: z.object({ reportedAt: z.string() }),
  schedule: { cron: '0 9 * * MON-FRI', timezone: 'Europe/Paris' },
  run: (_payload, ctx) => {
    const reportedAt = new Date().toISOString();
    ctx.logger.info('Daily report', { event: 'daily_report', reportedAt });
    return { reportedAt };
  },
});

/** Doubles `n`: a step of a chain (`{"chain": [{"name": "double", "payload": {"n": 1}}, {"name": "double"}]}`, docs/workflows.md). */
export const double = defineTask({
  name: 'double',
  payload: z.object({ n: z.number() }),
  result: z.object({ n: z.number() }),
  maxAttempts: 3,
  timeoutSeconds: 10,
  run: ({ n }) => ({ n: 2 * n }),
});

/**
 * Adds up a group's results, in a fan-in (`{"group": [...], "then": {"name": "sum"}}`):
 * a member that failed (with allowFailures) is null, and counts nothing.
 */
export const sum = defineTask({
  name: 'sum',
  payload: z.object({ results: z.array(z.nullable(z.object({ n: z.number() }))) }),
  result: z.object({ n: z.number(), of: z.int() }),
  maxAttempts: 3,
  timeoutSeconds: 10,
  run: ({ results }) => ({ n: results.reduce((total, r) => total + (r?.n ?? 0), 0), of: results.filter((r) => r !== null).length }),
});
