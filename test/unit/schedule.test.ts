import { describe, expect, it } from 'vitest';
import { describeNextRun } from '../../lib/schedules/nextRunText';
import { checkSchedule, nextRunOf, recurringScheduleName, scheduleLogicalId, verifySchedule } from '../../lib/schedules/schedule';
import { parseTick, tickInput, tickKey } from '../../lib/schedules/tick';
import * as z from '../../lib/zod';

const payload = z.object({ region: z.enum(['eu', 'us']) });

describe('a task’s schedule', () => {
  it('is checked when the task is defined: cron or every, a zone’s name, a payload its schema takes', () => {
    expect(checkSchedule('report', { cron: '0 9 * * MON-FRI', timezone: 'Europe/Paris', payload: { region: 'eu' } }, payload)).toMatchObject({
      name: 'report',
      cron: '0 9 * * MON-FRI',
      timezone: 'Europe/Paris',
      expression: 'cron(0 9 ? * MON-FRI *)',
      payload: { region: 'eu' },
    });
    expect(checkSchedule('sync', { every: '15 minutes' }, z.object({}))).toMatchObject({ every: '15 minutes', timezone: 'UTC', expression: 'rate(15 minutes)', payload: {} });
    expect(() => checkSchedule('x', { cron: '0 9 * * *', every: '5 minutes' } as never, payload)).toThrow('defineTask(x): schedule takes either cron or every');
    expect(() => checkSchedule('x', {} as never, payload)).toThrow('defineTask(x): schedule takes either cron or every');
    expect(() => checkSchedule('x', { cron: '0 9 * * *', timezone: 'Paris time' }, payload)).toThrow('defineTask(x): schedule.timezone "Paris time" is not a time zone name');
    expect(() => checkSchedule('x', { cron: '0 25 * * *' }, payload)).toThrow('defineTask(x): schedule.cron: hours: "25" is not a number from 0 to 23');
    expect(() => checkSchedule('x', { every: 'hourly' }, payload)).toThrow('defineTask(x): schedule.every: "hourly" is not a rate');
    expect(() => checkSchedule('x', { cron: '0 9 * * *', payload: { region: 'mars' } }, payload)).toThrow(/defineTask\(x\): schedule.payload does not match the task's schema \(region: /);
    expect(() => checkSchedule('x', { cron: '0 9 * * *' }, payload)).toThrow(/schedule.payload does not match the task's schema \(region: /);
  });

  it('is verified against the runtime’s time zones, and must fire again, when the template is made', () => {
    expect(() => verifySchedule(checkSchedule('x', { cron: '0 9 * * *', timezone: 'Mars/Olympus_Mons' }, z.object({})))).toThrow('schedule.timezone "Mars/Olympus_Mons" is not a time zone this runtime knows');
    expect(() => verifySchedule(checkSchedule('x', { cron: '0 0 1 1 ? 2020' }, z.object({})))).toThrow('defineTask(x): schedule.cron "0 0 1 1 ? 2020" never fires again');
    expect(() => verifySchedule(checkSchedule('x', { cron: '0 0 1 1 ? 2020' }, z.object({})), Date.parse('2019-06-01T00:00:00Z'))).not.toThrow();
  });

  it('knows a cron’s next run at once, and a rate’s only from its last one', () => {
    const cron = checkSchedule('c', { cron: '30 8 * * *', timezone: 'Asia/Kolkata' }, z.object({}));
    const rate = checkSchedule('r', { every: '2 hours' }, z.object({}));
    expect(nextRunOf(cron, Date.parse('2027-01-01T00:00:00Z'))).toBe(Date.parse('2027-01-01T03:00:00Z'));
    expect(nextRunOf(rate, Date.parse('2027-01-01T00:00:00Z'))).toBeUndefined();
    expect(nextRunOf(rate, Date.parse('2027-01-01T05:00:00Z'), Date.parse('2027-01-01T02:30:00Z'))).toBe(Date.parse('2027-01-01T06:30:00Z'));
  });

  it('names its EventBridge schedule within EventBridge’s 64 characters of [0-9a-zA-Z-_.], apart from every other task’s', () => {
    expect(recurringScheduleName('daily_report')).toBe('recurring-daily_report');
    const colon = recurringScheduleName('billing:daily');
    expect(colon).toMatch(/^recurring-billing-daily-[0-9a-f]{8}$/);
    expect(colon).not.toBe(recurringScheduleName('billing-daily'));
    const long = recurringScheduleName('x'.repeat(128));
    expect(long).toMatch(/^[0-9A-Za-z_.-]+$/);
    expect(long.length).toBeLessThanOrEqual(64);
    expect(long).not.toBe(recurringScheduleName(`${'x'.repeat(127)}y`));
    expect(scheduleLogicalId('daily_report')).toMatch(/^ScheduleDailyReport[0-9A-F]{8}$/);
    expect(scheduleLogicalId('daily_report')).not.toBe(scheduleLogicalId('daily-report'));
  });
});

describe('a tick', () => {
  it('is the message EventBridge fills in, read back only when it is one', () => {
    expect(tickInput('daily_report')).toBe('{"tick":"daily_report","scheduledTime":"<aws.scheduler.scheduled-time>"}');
    expect(parseTick('{"tick":"daily_report","scheduledTime":"2027-01-04T08:00:00Z"}')).toEqual({ tick: 'daily_report', scheduledTime: '2027-01-04T08:00:00Z' });
    expect(parseTick('{"tick":"daily_report","scheduledTime":"<aws.scheduler.scheduled-time>"}')).toBeUndefined();
    expect(parseTick('{"v":2,"taskId":"01ARZ3NDEKTSV4RRFFQ69G5FAV","name":"x","run":1}')).toBeUndefined();
    expect(parseTick('{"tick":"x","scheduledTime":"2027-01-04T08:00:00Z","extra":1}')).toBeUndefined();
    expect(parseTick('not json')).toBeUndefined();
    expect(tickKey({ tick: 'daily_report', scheduledTime: '2027-01-04T08:00:00Z' })).toBe('schedule:daily_report:2027-01-04T08:00:00.000Z');
  });

  it('tells people when a schedule runs next, in its zone and in UTC', () => {
    expect(describeNextRun(Date.parse('2027-01-04T08:00:00Z'), 'Europe/Paris')).toBe('2027-01-04 09:00 Europe/Paris (08:00 UTC)');
    expect(describeNextRun(Date.parse('2027-01-04T08:00:00Z'), 'UTC')).toBe('2027-01-04 08:00 UTC');
    expect(describeNextRun(undefined, 'UTC')).toBe('none');
  });
});
