import type { $ZodType } from 'zod/v4/core';
import * as z from '../zod';
import { nextCronRun, parseCron, type CronSchedule } from './cron';
import { nextRateRun, parseEvery, type Rate } from './every';
import { isTimeZone } from './zonedTime';

/** `defineTask({ schedule })`: when the task is enqueued on its own, and with which payload. */
export type ScheduleOptions<P = unknown> = (
  | {
      /** Crontab's five fields (`0 9 * * MON-FRI`) or EventBridge's six (`0 9 ? * MON-FRI *`), read in `timezone`. */
      cron: string;
      every?: never;
    }
  | {
      /** A rate: `5 minutes`, `1 hour`, `2 days`. */
      every: string;
      cron?: never;
    }
) & {
  /** An IANA time zone (`Europe/Paris`); DST as EventBridge Scheduler handles it. Default UTC. */
  timezone?: string;
  /** The payload of every run; checked against the task's schema when the task is defined. Default `{}`. */
  payload?: P;
};

/** A task's schedule, checked and in the form EventBridge Scheduler takes. */
export interface RecurringSchedule {
  /** The task it enqueues, which is also its name in GET /schedules. */
  readonly name: string;
  readonly cron?: string;
  readonly every?: string;
  readonly timezone: string;
  /** `cron(...)` or `rate(...)`: EventBridge's schedule expression. */
  readonly expression: string;
  readonly payload: unknown;
  readonly when: { cron: CronSchedule } | { rate: Rate };
}

/** An IANA zone's shape (Europe/Paris, America/Argentina/Buenos_Aires, UTC, Etc/GMT+2); verifySchedule asks the runtime whether it knows it. */
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

/**
 * Checks a task's schedule when the task is defined, so that a bad one fails
 * at start, never at 9 o'clock on a Monday: the expression, the time zone's
 * shape and the payload against the task's schema. (Whether the runtime
 * knows the zone, and whether the schedule fires at all, needs the time zone
 * data, whose first use costs ~16 ms: verifySchedule asks that when the
 * template is made, at package time and when `npm start` starts, not at
 * every Lambda cold start.)
 */
export function checkSchedule(taskName: string, options: ScheduleOptions, payloadSchema: $ZodType): RecurringSchedule {
  const where = `defineTask(${taskName}): schedule`;
  const { cron, every, timezone = 'UTC', payload = {} } = options as { cron?: unknown; every?: unknown; timezone?: string; payload?: unknown };
  if ((cron === undefined) === (every === undefined)) throw new TypeError(`${where} takes either cron or every`);
  if (typeof timezone !== 'string' || !ZONE_NAME.test(timezone)) throw new TypeError(`${where}.timezone "${String(timezone)}" is not a time zone name (an IANA name such as Europe/Paris)`);
  let when: RecurringSchedule['when'];
  try {
    if (typeof cron === 'string') when = { cron: parseCron(cron) };
    else if (typeof every === 'string') when = { rate: parseEvery(every) };
    else throw new TypeError('cron and every are strings');
  } catch (error) {
    throw new TypeError(`${where}.${cron === undefined ? 'every' : 'cron'}: ${(error as Error).message}`);
  }
  const parsed = z.safeParse(payloadSchema, payload);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ');
    throw new TypeError(`${where}.payload does not match the task's schema (${issues})`);
  }
  return Object.freeze({
    name: taskName,
    ...(typeof cron === 'string' ? { cron } : { every: every as string }),
    timezone,
    expression: 'cron' in when ? `cron(${when.cron.fields})` : when.rate.expression,
    payload,
    when,
  });
}

/** Throws if the runtime does not know the schedule's time zone, or if its cron never fires again. */
export function verifySchedule(schedule: RecurringSchedule, now = Date.now()): void {
  const where = `defineTask(${schedule.name}): schedule`;
  if (!isTimeZone(schedule.timezone)) throw new TypeError(`${where}.timezone "${schedule.timezone}" is not a time zone this runtime knows (an IANA name such as Europe/Paris)`);
  if ('cron' in schedule.when && nextCronRun(schedule.when.cron, schedule.timezone, now) === undefined) throw new TypeError(`${where}.cron "${schedule.cron}" never fires again`);
}

/**
 * The schedule's next run after `afterMs`. A cron schedule's is known from
 * its expression; a rate's runs from when its schedule started (a deploy on
 * AWS, the start of `npm start` locally), known here only through its last
 * run: undefined before the first one.
 */
export function nextRunOf(schedule: RecurringSchedule, afterMs: number, lastRunMs?: number): number | undefined {
  if ('cron' in schedule.when) return nextCronRun(schedule.when.cron, schedule.timezone, afterMs);
  return lastRunMs === undefined ? undefined : nextRateRun(schedule.when.rate, lastRunMs, afterMs);
}

/** EventBridge's limits on a schedule's name: 64 characters of [0-9a-zA-Z-_.]. */
const NAME_ROOM = 64 - 'recurring-'.length;

/** The EventBridge schedule of a task's recurring runs (a task name may hold `:` and up to 128 characters). */
export function recurringScheduleName(taskName: string): string {
  const clean = taskName.replace(/[^0-9A-Za-z_.-]/g, '-');
  const name = clean.length <= NAME_ROOM && clean === taskName ? clean : `${clean.slice(0, NAME_ROOM - 9)}-${shortHash(taskName)}`;
  return `recurring-${name}`;
}

/** The template's logical id of a task's schedule: letters and digits only. */
export function scheduleLogicalId(taskName: string): string {
  const words = taskName.split(/[^0-9A-Za-z]+/).filter(Boolean);
  const pascal = words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('').slice(0, 200);
  return `Schedule${pascal}${shortHash(taskName).toUpperCase()}`;
}

/** Eight hex digits of FNV-1a: names apart, no node:crypto (lib/task.ts, and so this file, is read by the browser client's types too). */
function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}
