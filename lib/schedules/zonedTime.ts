/**
 * Wall-clock time in an IANA time zone, from the runtime's own time zone data
 * (Intl): what a clock in that zone shows at an instant, and at which instants
 * it shows a given time (none in a spring-forward gap, two in a fall-back
 * overlap). The cron evaluator is built on these two, so that DST is decided
 * in one place.
 */

/** A date and time as a wall clock shows it; month 1-12. */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether the runtime knows `timeZone` (an IANA name such as Europe/Paris, or UTC). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** What a clock in `timeZone` shows at `instantMs` (seconds dropped). */
export function wallTimeOf(instantMs: number, timeZone: string): WallTime {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(instantMs))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute! };
}

/** The zone's offset from UTC at `instantMs`, in ms (Paris in winter: +3,600,000). */
function offsetAt(instantMs: number, timeZone: string): number {
  const w = wallTimeOf(instantMs, timeZone);
  const minuteStart = instantMs - (((instantMs % 60_000) + 60_000) % 60_000);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute) - minuteStart;
}

const DAY_MS = 86_400_000;

/**
 * The instants at which a clock in `timeZone` shows `wall`, earliest first:
 * none when the time falls in a gap (the clocks skip it), two when it falls in
 * an overlap (the clocks show it twice), else one. The offsets in force a day
 * either side are the only candidates: zones change offset at most once a day.
 */
export function instantsOf(wall: WallTime, timeZone: string): number[] {
  const naive = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute);
  const offsets = new Set([offsetAt(naive - DAY_MS, timeZone), offsetAt(naive + DAY_MS, timeZone)]);
  const found = new Set<number>();
  for (const offset of offsets) {
    const instant = naive - offset;
    if (sameWallTime(wallTimeOf(instant, timeZone), wall)) found.add(instant);
  }
  return [...found].sort((a, b) => a - b);
}

function sameWallTime(a: WallTime, b: WallTime): boolean {
  return a.year === b.year && a.month === b.month && a.day === b.day && a.hour === b.hour && a.minute === b.minute;
}

/** Days in a month of the proleptic Gregorian calendar (month 1-12). */
export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** The day of the week of a date, as EventBridge numbers it: 1 = Sunday ... 7 = Saturday. */
export function weekdayOf(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 1;
}
