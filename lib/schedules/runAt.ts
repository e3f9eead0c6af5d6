import { ValidationError } from '../errors';
import * as z from '../zod';

/**
 * When a task may first run: `runAt` (a moment) or `delaySeconds` (from
 * now), up to a year ahead. The task records the moment (`runAt`); until
 * then it reads SCHEDULED. Within SQS_MAX_DELAY_SECONDS the message itself
 * waits in SQS; beyond, a timer sends it (timers.ts).
 */

/** SQS holds a message back at most this long (DelaySeconds). */
export const SQS_MAX_DELAY_SECONDS = 900;
/** How far ahead a task may be scheduled: a year. */
export const MAX_SCHEDULE_SECONDS = 31_536_000;

/** The enqueue options that say when: `POST /tasks` takes the same ones in its body (runAt as RFC 3339 text). */
export const RUN_AT_FIELDS = {
  delaySeconds: z.optional(z.int().check(z.minimum(0), z.maximum(MAX_SCHEDULE_SECONDS))),
  runAt: z.optional(z.iso.datetime({ offset: true })),
};

/** What the task records of when it runs: the moment, and the delay if that is how it was asked. */
export interface RunAtFields {
  delaySeconds?: number;
  /** ISO 8601 (UTC, ms). */
  runAt?: string;
}

/**
 * The moment the options ask for, from `now`. A moment in the past runs at
 * once (it is recorded as asked); one further ahead than a year is refused.
 */
export function runAtFields(options: { delaySeconds?: number; runAt?: string }, now: Date): RunAtFields {
  const { delaySeconds, runAt } = options;
  if (delaySeconds !== undefined && runAt !== undefined) throw new ValidationError('Give either delaySeconds or runAt, not both', [{ path: 'runAt', message: 'runAt and delaySeconds are exclusive' }]);
  if (delaySeconds) return { delaySeconds, runAt: new Date(now.getTime() + delaySeconds * 1000).toISOString() };
  if (runAt === undefined) return {};
  const at = Date.parse(runAt);
  if (at - now.getTime() > MAX_SCHEDULE_SECONDS * 1000) {
    throw new ValidationError(`runAt is more than a year (${MAX_SCHEDULE_SECONDS} s) ahead`, [{ path: 'runAt', message: `at most ${MAX_SCHEDULE_SECONDS} s ahead` }]);
  }
  return { runAt: new Date(at).toISOString() };
}

/** A runAt given as a Date (enqueue from code) as the text the schema reads. */
export function runAtText(runAt: Date | string | undefined): string | undefined {
  if (!(runAt instanceof Date)) return runAt;
  return Number.isNaN(runAt.getTime()) ? 'Invalid Date' : runAt.toISOString();
}

/** Epoch ms from which a task's first run may start: its runAt, or its creation plus its delay. */
export function runsAtOf(task: { createdAt: string; delaySeconds?: number; runAt?: string }): number {
  if (task.runAt !== undefined) return Date.parse(task.runAt);
  return Date.parse(task.createdAt) + (task.delaySeconds ?? 0) * 1000;
}

/** Whether a task's first run waits longer than SQS can hold its message: a timer sends it instead. */
export function needsTimer(task: { createdAt: string; delaySeconds?: number; runAt?: string }, nowMs: number): boolean {
  return runsAtOf(task) - nowMs > SQS_MAX_DELAY_SECONDS * 1000;
}
