import { daysInMonth, instantsOf, wallTimeOf, weekdayOf } from './zonedTime';

/**
 * Cron as EventBridge Scheduler reads it, so that what `npm start` runs, what
 * GET /schedules predicts and what AWS runs are the same times.
 *
 * Six fields, `minutes hours day-of-month month day-of-week year`, with
 * `, - * /`, names (JAN-DEC, SUN-SAT), days of the week numbered 1 (Sunday)
 * to 7 (Saturday), `?` in exactly one of the two day fields, `L` (last day of
 * the month; alone in day-of-week, Saturday), `nW` (the weekday nearest the
 * nth of the month) and `d#n` (the nth such weekday of the month). The
 * crontab form of five fields (`0 9 * * MON-FRI`) is taken too and rewritten
 * into six: its `*` day field becomes `?`, its days of the week (0 or 7 =
 * Sunday) become names, and a line restricting both day fields, which
 * crontab reads as "either" and EventBridge cannot say, is refused. `*`/n
 * is written `first/n`, the form AWS documents.
 *
 * DST, as EventBridge handles it: a time that the clocks skip (spring
 * forward) is skipped, and a time they show twice (fall back) runs once, at
 * its first occurrence. The cron libraries on npm (croner, cron-parser) run
 * the skipped time an hour late and the repeated ones twice, which is why
 * this evaluator exists.
 */
export interface CronSchedule {
  /** The six fields EventBridge gets, as in `cron(<fields>)`. */
  fields: string;
  minutes: readonly number[];
  hours: readonly number[];
  months: ReadonlySet<number>;
  years: ReadonlySet<number>;
  days: DayRule;
}

type DayRule =
  | { kind: 'monthDays'; days: ReadonlySet<number> }
  | { kind: 'lastDayOfMonth' }
  | { kind: 'nearestWeekday'; day: number }
  | { kind: 'weekdays'; days: ReadonlySet<number> }
  | { kind: 'nthWeekday'; weekday: number; nth: number };

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const MINUTES: FieldSpec = { name: 'minutes', min: 0, max: 59 };
const HOURS: FieldSpec = { name: 'hours', min: 0, max: 23 };
const DAY_OF_MONTH: FieldSpec = { name: 'day-of-month', min: 1, max: 31 };
const MONTH: FieldSpec = { name: 'month', min: 1, max: 12, names: MONTH_NAMES };
const DAY_OF_WEEK: FieldSpec = { name: 'day-of-week', min: 1, max: 7, names: DAY_NAMES };
/** Crontab's days of the week: 0 to 7, both ends Sunday. */
const CRONTAB_DAY_OF_WEEK: FieldSpec = { name: 'day-of-week', min: 0, max: 7, names: DAY_NAMES };
const YEAR: FieldSpec = { name: 'year', min: 1970, max: 2199 };

/** A cron expression EventBridge would refuse, or that this evaluator does not support; the message says which part. */
export class CronSyntaxError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'CronSyntaxError';
  }
}

/** Reads a cron expression of five (crontab) or six (EventBridge) fields; throws CronSyntaxError. */
export function parseCron(text: string): CronSchedule {
  const parts = text.trim().toUpperCase().split(/\s+/);
  if (parts.length === 5) return parseEventBridge(fromCrontab(parts));
  if (parts.length === 6) return parseEventBridge(parts);
  throw new CronSyntaxError(`"${text}" has ${parts.length} fields; cron takes five (crontab) or six (EventBridge: minutes hours day-of-month month day-of-week year)`);
}

function parseEventBridge(parts: string[]): CronSchedule {
  const [minute, hour, dom, month, dow, year] = parts as [string, string, string, string, string, string];
  const minutes = parseList(minute, MINUTES);
  const hours = parseList(hour, HOURS);
  const months = parseList(month, MONTH);
  const years = parseList(year, YEAR);
  if ((dom === '?') === (dow === '?')) {
    throw new CronSyntaxError('exactly one of day-of-month and day-of-week must be ?; the other says which days (EventBridge cannot combine them)');
  }
  const days = dom === '?' ? parseDayOfWeek(dow) : parseDayOfMonth(dom);
  const [domText, dowText] = dom === '?' ? ['?', days.text] : [days.text, '?'];
  return {
    fields: [minutes.text, hours.text, domText, months.text, dowText, years.text].join(' '),
    minutes: [...minutes.values].sort((a, b) => a - b),
    hours: [...hours.values].sort((a, b) => a - b),
    months: months.values,
    years: years.values,
    days: days.rule,
  };
}

function parseDayOfMonth(text: string): { rule: DayRule; text: string } {
  if (text === 'L') return { rule: { kind: 'lastDayOfMonth' }, text };
  const weekday = /^(\d{1,2})W$/.exec(text);
  if (weekday) {
    const day = Number(weekday[1]);
    if (day < 1 || day > 31) throw new CronSyntaxError(`day-of-month "${text}": W takes a day from 1 to 31`);
    return { rule: { kind: 'nearestWeekday', day }, text };
  }
  const list = parseList(text, DAY_OF_MONTH);
  return { rule: { kind: 'monthDays', days: list.values }, text: list.text };
}

function parseDayOfWeek(text: string): { rule: DayRule; text: string } {
  if (text === 'L') return { rule: { kind: 'weekdays', days: new Set([7]) }, text };
  const nth = /^([A-Z0-9]+)#(\d)$/.exec(text);
  if (nth) {
    const weekday = valueOf(nth[1]!, DAY_OF_WEEK);
    const n = Number(nth[2]);
    if (n < 1 || n > 5) throw new CronSyntaxError(`day-of-week "${text}": # takes 1 to 5 (the nth such day of the month)`);
    return { rule: { kind: 'nthWeekday', weekday, nth: n }, text };
  }
  const list = parseList(text, DAY_OF_WEEK);
  return { rule: { kind: 'weekdays', days: list.values }, text: list.text };
}

/** `*`, a value, a range, each with an optional `/step`, comma-separated; a bare `*` stays `*`, `*`/n becomes `min/n`. */
function parseList(text: string, spec: FieldSpec): { values: Set<number>; text: string } {
  const values = new Set<number>();
  const items: string[] = [];
  for (const item of text.split(',')) {
    const m = /^(\*|[A-Z0-9]+)(?:-([A-Z0-9]+))?(?:\/(\d+))?$/.exec(item);
    if (!m || (m[1] === '*' && m[2] !== undefined)) throw new CronSyntaxError(`${spec.name} "${text}": "${item}" is not a value, a range or a step`);
    const step = m[3] === undefined ? undefined : Number(m[3]);
    if (step !== undefined && step < 1) throw new CronSyntaxError(`${spec.name} "${text}": a step must be 1 or more`);
    const low = m[1] === '*' ? spec.min : valueOf(m[1]!, spec);
    // A value with a step runs to the end of the field (Quartz, and AWS's `0/15`).
    const high = m[2] !== undefined ? valueOf(m[2], spec) : m[1] === '*' || step !== undefined ? spec.max : low;
    if (high < low) throw new CronSyntaxError(`${spec.name} "${text}": the range ${item} runs backwards`);
    for (let v = low; v <= high; v += step ?? 1) values.add(v);
    items.push(m[1] === '*' && step !== undefined ? `${spec.min}/${step}` : item);
  }
  return { values, text: items.join(',') };
}

function valueOf(token: string, spec: FieldSpec): number {
  const named = spec.names?.indexOf(token) ?? -1;
  // Names are 1-based in both fields that have them (JAN = 1, SUN = 1), crontab's SUN included (0 and 7 are numbers).
  const value = named >= 0 ? named + (spec === CRONTAB_DAY_OF_WEEK ? 0 : 1) : /^\d+$/.test(token) ? Number(token) : NaN;
  if (!Number.isInteger(value) || value < spec.min || value > spec.max) {
    throw new CronSyntaxError(`${spec.name}: "${token}" is not ${spec.names ? `one of ${spec.names.join(',')} nor ` : ''}a number from ${spec.min} to ${spec.max}`);
  }
  return value;
}

/** A crontab line's five fields as EventBridge's six. */
function fromCrontab(parts: string[]): string[] {
  const [minute, hour, dom, month, dow] = parts as [string, string, string, string, string];
  for (const [field, name] of [[minute, 'minutes'], [hour, 'hours'], [dom, 'day-of-month'], [month, 'month'], [dow, 'day-of-week']] as const) {
    if (/[?LW#]/.test(field.replace(/[A-Z]{3}/g, ''))) throw new CronSyntaxError(`${name} "${field}": ?, L, W and # need the six-field EventBridge form`);
  }
  if (dom !== '*' && dow !== '*') {
    throw new CronSyntaxError(`"${parts.join(' ')}" restricts both the day of the month and the day of the week, which crontab reads as either one and EventBridge cannot say; write two schedules, or the six-field form with ? in one of them`);
  }
  if (dow === '*') return [minute, hour, dom, month, '?', '*'];
  // Crontab numbers Sunday 0 (or 7): as names, the days mean the same in both forms.
  const days = [...parseList(dow, CRONTAB_DAY_OF_WEEK).values].map((d) => (d % 7) + 1);
  return [minute, hour, '?', month, dayNames(new Set(days)), '*'];
}

/** Days of the week (1-7) as names, consecutive days as a range: MON-FRI, SUN,SAT. */
function dayNames(days: Set<number>): string {
  const sorted = [...days].sort((a, b) => a - b);
  const runs: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    const first = DAY_NAMES[sorted[i]! - 1]!;
    const last = DAY_NAMES[sorted[j]! - 1]!;
    runs.push(i === j ? first : `${first}-${last}`);
    i = j + 1;
  }
  return runs.join(',');
}

function dayMatches(rule: DayRule, year: number, month: number, day: number): boolean {
  switch (rule.kind) {
    case 'monthDays':
      return rule.days.has(day);
    case 'lastDayOfMonth':
      return day === daysInMonth(year, month);
    case 'nearestWeekday':
      return day === nearestWeekday(year, month, rule.day);
    case 'weekdays':
      return rule.days.has(weekdayOf(year, month, day));
    case 'nthWeekday':
      return weekdayOf(year, month, day) === rule.weekday && Math.ceil(day / 7) === rule.nth;
  }
}

/** The Monday-to-Friday day nearest `day` within its month (none if the month is shorter): `15W`. */
function nearestWeekday(year: number, month: number, day: number): number | undefined {
  const last = daysInMonth(year, month);
  if (day > last) return undefined;
  const weekday = weekdayOf(year, month, day);
  if (weekday === 7) return day === 1 ? 3 : day - 1; // Saturday: the Friday before, or the Monday after the 1st
  if (weekday === 1) return day === last ? day - 2 : day + 1; // Sunday: the Monday after, or the Friday before the last
  return day;
}

/** Days searched at most: to the end of the years cron can name. */
const LAST_YEAR = YEAR.max;

/**
 * The first time after `afterMs` (epoch ms, strictly later) at which the
 * schedule fires in `timeZone`, or undefined if it never fires again.
 */
export function nextCronRun(cron: CronSchedule, timeZone: string, afterMs: number): number | undefined {
  const start = wallTimeOf(afterMs, timeZone);
  let date = Date.UTC(start.year, start.month - 1, start.day);
  for (;;) {
    const at = new Date(date);
    const year = at.getUTCFullYear();
    const month = at.getUTCMonth() + 1;
    const day = at.getUTCDate();
    if (year > LAST_YEAR) return undefined;
    if (!cron.years.has(year)) {
      date = Date.UTC(year + 1, 0, 1);
      continue;
    }
    if (!cron.months.has(month)) {
      date = Date.UTC(year, month, 1);
      continue;
    }
    if (dayMatches(cron.days, year, month, day)) {
      for (const hour of cron.hours) {
        for (const minute of cron.minutes) {
          // The first instant only: a time the clocks show twice runs once; one they skip has none.
          const [first] = instantsOf({ year, month, day, hour, minute }, timeZone);
          if (first !== undefined && first > afterMs) return first;
        }
      }
    }
    date += 86_400_000;
  }
}
