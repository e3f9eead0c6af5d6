import { describe, expect, it } from 'vitest';
import type { Engine } from '../../lib/engine';
import { ValidationError } from '../../lib/errors';
import type { OutgoingMessage } from '../../lib/message';
import { sendFirstRuns, sendRun } from '../../lib/schedules/dispatch';
import { MAX_SCHEDULE_SECONDS, needsTimer, runAtFields, runAtText, runsAtOf, SQS_MAX_DELAY_SECONDS } from '../../lib/schedules/runAt';
import { fireExpression, lateFireExpression, timerName } from '../../lib/schedules/schedulerTimers';

const NOW = new Date('2027-01-01T00:00:00.000Z');
const T0 = NOW.getTime();

describe('runAt and delaySeconds', () => {
  it('turns a delay into the moment it ends, and keeps a moment as UTC to the millisecond', () => {
    expect(runAtFields({ delaySeconds: 90 }, NOW)).toEqual({ delaySeconds: 90, runAt: '2027-01-01T00:01:30.000Z' });
    expect(runAtFields({ runAt: '2027-01-01T10:00:00+01:00' }, NOW)).toEqual({ runAt: '2027-01-01T09:00:00.000Z' });
    expect(runAtFields({ delaySeconds: 0 }, NOW)).toEqual({});
    expect(runAtFields({}, NOW)).toEqual({});
    // In the past: recorded as asked, runs at once.
    expect(runAtFields({ runAt: '2026-01-01T00:00:00Z' }, NOW)).toEqual({ runAt: '2026-01-01T00:00:00.000Z' });
  });

  it('takes a moment up to exactly a year ahead, not a millisecond more, and not both fields', () => {
    const year = new Date(T0 + MAX_SCHEDULE_SECONDS * 1000).toISOString();
    expect(runAtFields({ runAt: year }, NOW)).toEqual({ runAt: year });
    expect(() => runAtFields({ runAt: new Date(T0 + MAX_SCHEDULE_SECONDS * 1000 + 1).toISOString() }, NOW)).toThrow('runAt is more than a year (31536000 s) ahead');
    expect(() => runAtFields({ runAt: year, delaySeconds: 5 }, NOW)).toThrow(ValidationError);
    expect(() => runAtFields({ runAt: year, delaySeconds: 5 }, NOW)).toThrow('Give either delaySeconds or runAt, not both');
  });

  it('reads a Date as RFC 3339 text, and an invalid Date as text the schema refuses', () => {
    expect(runAtText(NOW)).toBe('2027-01-01T00:00:00.000Z');
    expect(runAtText('2027-01-01T00:00:00Z')).toBe('2027-01-01T00:00:00Z');
    expect(runAtText(new Date('nope'))).toBe('Invalid Date');
    expect(runAtText(undefined)).toBeUndefined();
  });

  it('knows when a first run may start: its runAt, else its creation plus its delay', () => {
    expect(runsAtOf({ createdAt: '2027-01-01T00:00:00.000Z' })).toBe(T0);
    expect(runsAtOf({ createdAt: '2027-01-01T00:00:00.000Z', delaySeconds: 30 })).toBe(T0 + 30_000);
    expect(runsAtOf({ createdAt: '2027-01-01T00:00:00.000Z', delaySeconds: 30, runAt: '2027-01-01T00:00:40.000Z' })).toBe(T0 + 40_000);
  });

  it('needs a timer only beyond SQS’s 900 s', () => {
    const at = (ms: number) => ({ createdAt: NOW.toISOString(), runAt: new Date(T0 + ms).toISOString() });
    expect(needsTimer(at(SQS_MAX_DELAY_SECONDS * 1000), T0)).toBe(false);
    expect(needsTimer(at(SQS_MAX_DELAY_SECONDS * 1000 + 1), T0)).toBe(true);
  });
});

describe('how enqueue sends a run', () => {
  /** The two ways out, recorded: no AWS here, only the choice between them. */
  function recording() {
    const sent: OutgoingMessage[] = [];
    const timed: Array<{ out: OutgoingMessage; runAtMs: number }> = [];
    const engine = {
      now: () => NOW,
      queue: {
        send: async (out: OutgoingMessage) => void sent.push(out),
        sendMany: async (outs: OutgoingMessage[]) => (sent.push(...outs), new Map()),
      },
      timers: { set: async (out: OutgoingMessage, runAtMs: number) => void timed.push({ out, runAtMs }), clear: async () => undefined },
    } as unknown as Engine;
    return { engine, sent, timed };
  }
  const task = (fields: { delaySeconds?: number; runAt?: string }) => ({ taskId: '01ARZ3NDEKTSV4RRFFQ69G5FAV', name: 'write_log', priority: 'default' as const, createdAt: NOW.toISOString(), ...fields });
  const message = { v: 2, taskId: '01ARZ3NDEKTSV4RRFFQ69G5FAV', name: 'write_log', run: 1 };

  it('sends at once, with the asked delay, with what is left until runAt, or to a timer', async () => {
    const { engine, sent, timed } = recording();
    await sendRun(engine, task({}), 1);
    await sendRun(engine, task({ delaySeconds: 900, runAt: new Date(T0 + 900_000).toISOString() }), 1);
    await sendRun(engine, task({ runAt: new Date(T0 + 1_500).toISOString() }), 1);
    await sendRun(engine, task({ runAt: new Date(T0 - 5_000).toISOString() }), 1);
    await sendRun(engine, task({ delaySeconds: 901, runAt: new Date(T0 + 901_000).toISOString() }), 2);

    expect(sent).toEqual([
      { message, priority: 'default' },
      { message, priority: 'default', delaySeconds: 900 },
      // 1.5 s left: SQS's whole seconds, rounded up, so never early.
      { message, priority: 'default', delaySeconds: 2 },
      { message, priority: 'default' },
    ]);
    expect(timed).toEqual([{ out: { message: { ...message, run: 2 }, priority: 'default' }, runAtMs: T0 + 901_000 }]);
  });

  it('sends a batch’s near tasks through SQS and gives each far one a timer, reporting a timer that failed by its task', async () => {
    const { engine, sent, timed } = recording();
    const far = { ...task({ runAt: new Date(T0 + 3_600_000).toISOString() }), taskId: '01ARZ3NDEKTSV4RRFFQ69G5FAW' };
    const refused = { ...far, taskId: '01ARZ3NDEKTSV4RRFFQ69G5FAX' };
    engine.timers.set = async (out, runAtMs) => {
      if (out.message.taskId === refused.taskId) throw new Error('throttled');
      timed.push({ out, runAtMs });
    };

    const failed = await sendFirstRuns(engine, [task({}), far, refused]);

    expect(sent).toEqual([{ message, priority: 'default' }]);
    expect(timed.map((t) => t.out.message.taskId)).toEqual([far.taskId]);
    expect([...failed.keys()]).toEqual([refused.taskId]);
    expect(failed.get(refused.taskId)!.message).toBe('EventBridge Scheduler CreateSchedule failed');
  });

  it('names a run’s one-time schedule after it, and sets it for the minute before runAt', () => {
    expect(timerName('01ARZ3NDEKTSV4RRFFQ69G5FAV', 3)).toBe('run-01ARZ3NDEKTSV4RRFFQ69G5FAV-3');
    expect(fireExpression(Date.parse('2027-06-30T23:59:59.999Z'))).toBe('at(2027-06-30T23:58:00)');
    expect(fireExpression(Date.parse('2027-07-01T00:00:00.000Z'))).toBe('at(2027-06-30T23:59:00)');
    // A later run's message is not held back by the worker: its schedule fires in the minute after runAt's, never before it.
    expect(lateFireExpression(Date.parse('2027-06-30T23:59:59.999Z'))).toBe('at(2027-07-01T00:00:00)');
    expect(lateFireExpression(Date.parse('2027-07-01T00:00:00.000Z'))).toBe('at(2027-07-01T00:01:00)');
  });
});
