import { createHash } from 'node:crypto';
import { setTimeout as sleepFor } from 'node:timers/promises';
import * as z from '../zod';
import { defineTask } from '../task';

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

/** Waits `ms`, watching its AbortSignal: for timeouts, draining and load. */
export const sleep = defineTask({
  name: 'sleep',
  payload: z.object({ ms: z.int().check(z.minimum(0), z.maximum(600_000)) }),
  result: z.object({ sleptMs: z.int() }),
  maxAttempts: 1,
  timeoutSeconds: 660,
  run: async ({ ms }, ctx) => {
    await sleepFor(ms, undefined, { signal: ctx.signal });
    return { sleptMs: ms };
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
