import { wallTimeOf } from './zonedTime';

const pad = (n: number) => String(n).padStart(2, '0');

/** A next run for people: `2026-03-30 09:00 Europe/Paris (07:00 UTC)`; `none` when there is none. */
export function describeNextRun(atMs: number | undefined, timeZone: string): string {
  if (atMs === undefined) return 'none';
  const w = wallTimeOf(atMs, timeZone);
  const utc = new Date(atMs);
  const local = `${w.year}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}`;
  const inUtc = `${pad(utc.getUTCHours())}:${pad(utc.getUTCMinutes())} UTC`;
  return timeZone === 'UTC' ? `${local} UTC` : `${local} ${timeZone} (${inUtc})`;
}
