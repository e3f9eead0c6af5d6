import { describe, expect, it } from 'vitest';
import { CronSyntaxError, nextCronRun, parseCron } from '../../lib/schedules/cron';
import { nextRateRun, parseEvery } from '../../lib/schedules/every';
import { instantsOf, wallTimeOf } from '../../lib/schedules/zonedTime';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** The next `count` runs after `from`, as ISO strings. */
function runs(expression: string, timeZone: string, from: string, count: number): Array<string | undefined> {
  const cron = parseCron(expression);
  const out: Array<string | undefined> = [];
  let after = at(from);
  for (let i = 0; i < count; i++) {
    const next = nextCronRun(cron, timeZone, after);
    out.push(iso(next));
    if (next === undefined) break;
    after = next;
  }
  return out;
}

describe('parseCron', () => {
  it.each([
    ['0 9 * * MON-FRI', '0 9 ? * MON-FRI *'],
    ['*/15 * * * *', '0/15 * * * ? *'],
    ['0 0 1 * *', '0 0 1 * ? *'],
    ['0 0 */5 * *', '0 0 1/5 * ? *'],
    ['0 2 * * 0', '0 2 ? * SUN *'],
    ['0 2 * * 7', '0 2 ? * SUN *'],
    ['0 2 * * 1-5', '0 2 ? * MON-FRI *'],
    ['0 2 * * 5-7', '0 2 ? * SUN,FRI-SAT *'],
    ['0 2 * * */2', '0 2 ? * SUN,TUE,THU,SAT *'],
    ['30 8 * jan,jul sat', '30 8 ? JAN,JUL SAT *'],
  ])('rewrites the crontab line "%s" into EventBridge’s six fields "%s"', (crontab, fields) => {
    expect(parseCron(crontab).fields).toBe(fields);
  });

  it.each(['0 9 ? * MON-FRI *', '0/5 8-17 ? * MON-FRI *', '0 12 L * ? *', '0 12 15W * ? *', '0 12 ? * 3#2 *', '0 12 ? * L *', '0 0 1 1 ? 2027-2030', '0 18 * * ? *'])(
    'takes the EventBridge expression "%s" as it is',
    (fields) => {
      expect(parseCron(fields).fields).toBe(fields);
    },
  );

  it.each([
    ['0 9 1 * MON', /restricts both the day of the month and the day of the week/],
    ['0 9 * * MON *', /exactly one of day-of-month and day-of-week must be \?/],
    ['0 9 ? * ? *', /exactly one of day-of-month and day-of-week must be \?/],
    ['60 9 * * ? *', /minutes: "60" is not a number from 0 to 59/],
    ['0 24 * * *', /hours: "24" is not a number from 0 to 23/],
    ['0 9 * 13 ? *', /month: "13" is not one of JAN,.*,DEC nor a number from 1 to 12/],
    ['0 9 ? * 8 *', /day-of-week: "8" is not/],
    ['0 9 ? * 0 *', /day-of-week: "0" is not/],
    ['0 9 * * ? 2200', /year: "2200" is not a number from 1970 to 2199/],
    ['0 9 * *', /has 4 fields/],
    ['0 9 L * *', /need the six-field EventBridge form/],
    ['5-1 * * * *', /the range 5-1 runs backwards/],
    ['*/0 * * * *', /a step must be 1 or more/],
    ['*-5 * * * *', /is not a value, a range or a step/],
    ['0 12 ? * 3#6 *', /# takes 1 to 5/],
  ])('refuses "%s", saying why', (text, message) => {
    expect(() => parseCron(text)).toThrow(CronSyntaxError);
    expect(() => parseCron(text)).toThrow(message);
  });
});

describe('nextCronRun: EventBridge’s semantics, DST included', () => {
  it('runs 0 9 * * MON-FRI in Paris at 9:00 Paris time on each side of the spring change (08:00Z, then 07:00Z)', () => {
    // Paris goes from UTC+1 to UTC+2 on Sunday 29 March 2026.
    expect(runs('0 9 * * MON-FRI', 'Europe/Paris', '2026-03-26T09:00:00Z', 4)).toEqual([
      '2026-03-27T08:00:00.000Z', // Friday, UTC+1
      '2026-03-30T07:00:00.000Z', // Monday, UTC+2
      '2026-03-31T07:00:00.000Z',
      '2026-04-01T07:00:00.000Z',
    ]);
  });

  it('and on each side of the autumn change (07:00Z, then 08:00Z)', () => {
    // Back to UTC+1 on Sunday 25 October 2026.
    expect(runs('0 9 * * MON-FRI', 'Europe/Paris', '2026-10-22T12:00:00Z', 3)).toEqual(['2026-10-23T07:00:00.000Z', '2026-10-26T08:00:00.000Z', '2026-10-27T08:00:00.000Z']);
  });

  it('skips a time the clocks skip (02:30 on the spring-forward night), as EventBridge does', () => {
    expect(runs('30 2 * * ? *', 'Europe/Paris', '2026-03-27T12:00:00Z', 3)).toEqual(['2026-03-28T01:30:00.000Z', '2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z']);
  });

  it('runs a time the clocks show twice (fall back) once, at its first occurrence', () => {
    expect(runs('30 2 * * ? *', 'Europe/Paris', '2026-10-24T12:00:00Z', 2)).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
    // Every half hour through the repeated hour: 02:00 and 02:30 once each, then 03:00 CET.
    expect(runs('0/30 * * * ? *', 'Europe/Paris', '2026-10-24T23:45:00Z', 4)).toEqual([
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T02:00:00.000Z',
      '2026-10-25T02:30:00.000Z',
    ]);
  });

  it('follows another zone’s rules (New York changes on other dates, at 2:00 local)', () => {
    expect(runs('0 9 ? * SUN *', 'America/New_York', '2026-03-01T15:00:00Z', 2)).toEqual(['2026-03-08T13:00:00.000Z', '2026-03-15T13:00:00.000Z']);
    expect(runs('30 2 * * ? *', 'America/New_York', '2026-03-07T12:00:00Z', 2)).toEqual(['2026-03-09T06:30:00.000Z', '2026-03-10T06:30:00.000Z']);
  });

  it('reads the last day of the month (leap years too), the nearest weekday and the nth weekday', () => {
    expect(runs('0 12 L * ? *', 'UTC', '2028-01-31T13:00:00Z', 2)).toEqual(['2028-02-29T12:00:00.000Z', '2028-03-31T12:00:00.000Z']);
    // 15 August 2026 is a Saturday: the Friday before. 1 August 2026 is a Saturday too: the Monday after, not July.
    expect(runs('0 12 15W * ? *', 'UTC', '2026-08-01T00:00:00Z', 1)).toEqual(['2026-08-14T12:00:00.000Z']);
    expect(runs('0 12 1W * ? *', 'UTC', '2026-07-31T00:00:00Z', 1)).toEqual(['2026-08-03T12:00:00.000Z']);
    // 31 May 2026 is a Sunday and the last day: the Friday before.
    expect(runs('0 12 31W * ? *', 'UTC', '2026-05-01T00:00:00Z', 1)).toEqual(['2026-05-29T12:00:00.000Z']);
    expect(runs('0 12 ? * 3#2 *', 'UTC', '2026-03-01T00:00:00Z', 2)).toEqual(['2026-03-10T12:00:00.000Z', '2026-04-14T12:00:00.000Z']);
    expect(runs('0 12 ? * L *', 'UTC', '2026-03-01T00:00:00Z', 1)).toEqual(['2026-03-07T12:00:00.000Z']);
  });

  it('stops with its years, and is strictly after the time it is given', () => {
    expect(runs('0 0 1 1 ? 2027', 'UTC', '2026-06-01T00:00:00Z', 2)).toEqual(['2027-01-01T00:00:00.000Z', undefined]);
    expect(iso(nextCronRun(parseCron('0 9 * * ? *'), 'UTC', at('2026-01-01T09:00:00Z')))).toBe('2026-01-02T09:00:00.000Z');
    expect(iso(nextCronRun(parseCron('0 9 * * ? *'), 'UTC', at('2026-01-01T08:59:59.999Z')))).toBe('2026-01-01T09:00:00.000Z');
  });
});

describe('zoned time', () => {
  it('finds no instant for a skipped time, two for a repeated one, one otherwise', () => {
    expect(instantsOf({ year: 2026, month: 3, day: 29, hour: 2, minute: 30 }, 'Europe/Paris')).toEqual([]);
    expect(instantsOf({ year: 2026, month: 10, day: 25, hour: 2, minute: 30 }, 'Europe/Paris').map(iso)).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-25T01:30:00.000Z']);
    expect(instantsOf({ year: 2026, month: 7, day: 1, hour: 9, minute: 0 }, 'Asia/Kolkata').map(iso)).toEqual(['2026-07-01T03:30:00.000Z']);
    expect(wallTimeOf(at('2026-07-01T03:30:59Z'), 'Asia/Kolkata')).toEqual({ year: 2026, month: 7, day: 1, hour: 9, minute: 0 });
  });
});

describe('every', () => {
  it.each([
    ['5 minutes', 'rate(5 minutes)', 300_000],
    ['1 minute', 'rate(1 minute)', 60_000],
    ['1 hours', 'rate(1 hour)', 3_600_000],
    ['2 Days', 'rate(2 days)', 172_800_000],
  ])('reads "%s" as %s', (text, expression, ms) => {
    expect(parseEvery(text)).toMatchObject({ expression, ms });
  });

  it.each(['0 minutes', 'five minutes', '5 seconds', '5', '366 days', '1.5 hours'])('refuses "%s"', (text) => {
    expect(() => parseEvery(text)).toThrow(/is (not a rate|longer than 365 days)/);
  });

  it('runs a whole number of periods after its anchor, strictly after the time given', () => {
    const rate = parseEvery('5 minutes');
    expect(nextRateRun(rate, 1_000_000, 999_000)).toBe(1_000_000);
    expect(nextRateRun(rate, 1_000_000, 1_000_000)).toBe(1_300_000);
    expect(nextRateRun(rate, 1_000_000, 1_299_999)).toBe(1_300_000);
    expect(nextRateRun(rate, 1_000_000, 1_300_000)).toBe(1_600_000);
  });
});
