import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { slotWaitSeconds, SLOT_WAIT_MAX_SECONDS } from '../../lib/control/admission';
import { checkControl, parsePer } from '../../lib/control/options';
import { PROGRESS_LIMIT_BYTES, ProgressReporter, type ProgressWrite } from '../../lib/control/progress';
import { reserve } from '../../lib/control/tokenBucket';
import { defineTask } from '../../lib/task';

describe('control options (defineTask)', () => {
  it('reads `per` as seconds or as text, and nothing else', () => {
    expect([parsePer(1), parsePer(0.5), parsePer('1 second'), parsePer('10 seconds'), parsePer('minute'), parsePer('2 minutes'), parsePer('1 hour'), parsePer(' 1 day ')]).toEqual([
      1_000, 500, 1_000, 10_000, 60_000, 120_000, 3_600_000, 86_400_000,
    ]);
    expect([parsePer(0), parsePer(-1), parsePer(Number.NaN), parsePer('0 seconds'), parsePer('1 week'), parsePer('1m'), parsePer('')]).toEqual(Array(7).fill(undefined));
  });

  it('turns a limit into a slot count and a token interval, and a definition without one into nothing', () => {
    const key = (p: unknown) => String(p);
    expect(checkControl('t', {})).toBeUndefined();
    expect(checkControl('t', { concurrency: 5 })).toEqual({ concurrency: { limit: 5 } });
    expect(checkControl('t', { concurrency: 1, concurrencyKey: key })).toEqual({ concurrency: { limit: 1, key } });
    expect(checkControl('t', { rateLimit: { max: 10, per: '1 second' } })).toEqual({ rateLimit: { intervalMs: 100, burst: 1 } });
    expect(checkControl('t', { rateLimit: { max: 100, per: '1 minute', burst: 100, key } })).toEqual({ rateLimit: { intervalMs: 600, burst: 100, key } });
  });

  it('refuses limits that cannot work, naming the task and the option', () => {
    const run = () => undefined;
    const payload = z.object({});
    expect(() => defineTask({ name: 'ctl_bad_zero', payload, concurrency: 0, run })).toThrow('defineTask(ctl_bad_zero): concurrency must be an integer from 1 to 100');
    expect(() => defineTask({ name: 'ctl_bad_big', payload, concurrency: 101, run })).toThrow(/concurrency must be an integer from 1 to 100/);
    expect(() => defineTask({ name: 'ctl_bad_half', payload, concurrency: 1.5, run })).toThrow(/concurrency must be an integer/);
    expect(() => defineTask({ name: 'ctl_bad_key', payload, concurrencyKey: () => 'k', run })).toThrow('defineTask(ctl_bad_key): concurrencyKey needs concurrency (the limit per key)');
    expect(() => defineTask({ name: 'ctl_bad_keyfn', payload, concurrency: 1, concurrencyKey: 'k' as never, run })).toThrow(/concurrencyKey must be a function/);
    expect(() => defineTask({ name: 'ctl_bad_max', payload, rateLimit: { max: 0, per: 1 }, run })).toThrow(/rateLimit.max must be a positive integer/);
    expect(() => defineTask({ name: 'ctl_bad_per', payload, rateLimit: { max: 1, per: '1 fortnight' }, run })).toThrow(`rateLimit.per must be seconds (a positive number) or text such as '1 minute'; got "1 fortnight"`);
    expect(() => defineTask({ name: 'ctl_bad_burst', payload, rateLimit: { max: 2, per: 1, burst: 3 }, run })).toThrow(/rateLimit.burst must be an integer from 1 to rateLimit.max/);
    expect(() => defineTask({ name: 'ctl_bad_burst0', payload, rateLimit: { max: 2, per: 1, burst: 0 }, run })).toThrow(/rateLimit.burst/);
    expect(() => defineTask({ name: 'ctl_bad_rkey', payload, rateLimit: { max: 2, per: 1, key: 'k' as never }, run })).toThrow(/rateLimit.key must be a function/);
    expect(defineTask({ name: 'ctl_good', payload, concurrency: 100, rateLimit: { max: 1, per: 60 }, run }).control).toEqual({ concurrency: { limit: 100 }, rateLimit: { intervalMs: 60_000, burst: 1 } });
  });
});

describe('the token bucket (GCRA, by reservation)', () => {
  const tenPerSecond = { intervalMs: 100, burst: 1 };

  it('spaces tokens one interval apart, from now, when the bucket is new or idle', () => {
    const taken: number[] = [];
    let tat: number | undefined;
    for (let i = 0; i < 5; i++) {
      const next = reserve(tat, 1_000, tenPerSecond);
      taken.push(next.at);
      tat = next.tat;
    }
    expect(taken).toEqual([1_000, 1_100, 1_200, 1_300, 1_400]);
    expect(tat).toBe(1_500);
    // Idle since: the next token is due at once, and the bucket does not bank the idle time.
    expect(reserve(1_500, 9_000, tenPerSecond)).toEqual({ at: 9_000, tat: 9_100 });
  });

  it('gives `burst` tokens at once after a quiet spell, then one an interval', () => {
    const bucket = { intervalMs: 100, burst: 3 };
    const taken: number[] = [];
    let tat: number | undefined;
    for (let i = 0; i < 5; i++) {
      const next = reserve(tat, 0, bucket);
      taken.push(next.at);
      tat = next.tat;
    }
    expect(taken).toEqual([0, 0, 0, 100, 200]);
  });

  it('never gives a token due before now', () => {
    expect(reserve(500, 1_000, { intervalMs: 100, burst: 10 })).toEqual({ at: 1_000, tat: 1_100 });
    expect(reserve(5_000, 1_000, tenPerSecond)).toEqual({ at: 5_000, tat: 5_100 });
  });
});

describe('waiting for a concurrency slot', () => {
  it('waits from half a second to a second, half again as long each time, up to its cap, with jitter', () => {
    expect([slotWaitSeconds(0, () => 0), slotWaitSeconds(0, () => 1), slotWaitSeconds(2, () => 1), slotWaitSeconds(4, () => 0)]).toEqual([0.5, 1, 2.25, 2.53125]);
    expect(slotWaitSeconds(50, () => 1)).toBe(SLOT_WAIT_MAX_SECONDS);
  });
});

describe('ctx.progress (ProgressReporter)', () => {
  const logger = new Logger({ serviceName: 'test', logLevel: 'CRITICAL' });
  const timing = { everyMs: 60, maxBackoffMs: 200 };
  const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

  function reporter(answer: (json: string) => Promise<ProgressWrite> = async () => ({ outcome: 'written' })) {
    const writes: Array<{ json: string; at: number }> = [];
    const refused: ProgressWrite[] = [];
    const r = new ProgressReporter(
      async (json) => {
        writes.push({ json, at: Date.now() });
        return answer(json);
      },
      (seen) => refused.push(seen),
      logger,
      timing,
    );
    return { r, writes, refused };
  }

  it('writes at most once per interval, the newest value each time, and leaves the last for the outcome write', async () => {
    const { r, writes } = reporter();
    for (let i = 1; i <= 10; i++) {
      void r.report({ done: i });
      await settle(15);
    }
    const last = await r.finish();

    expect(writes.length).toBeGreaterThanOrEqual(2);
    expect(writes.length).toBeLessThanOrEqual(4);
    for (let i = 1; i < writes.length; i++) expect(writes[i]!.at - writes[i - 1]!.at).toBeGreaterThanOrEqual(timing.everyMs - 5);
    const values = writes.map((w) => (JSON.parse(w.json) as { done: number }).done);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(values[0]).toBe(1);
    // Either the last write carried 10, or the outcome write will.
    expect(last === undefined ? values.at(-1) : (JSON.parse(last) as { done: number }).done).toBe(10);
  });

  it('resolves each value once written or replaced, and values reported in one go make one write', async () => {
    const { r, writes } = reporter();
    await Promise.all([r.report(1), r.report(2), r.report(3)]);
    expect(writes.map((w) => w.json)).toEqual(['3']);
    expect(await r.finish()).toBeUndefined();
  });

  it('drops what is not JSON or is over 4 KB, and never rejects', async () => {
    const { r, writes } = reporter();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await Promise.all([r.report(cyclic), r.report(undefined), r.report(() => 1), r.report({ big: 'x'.repeat(PROGRESS_LIMIT_BYTES) }), r.report(10n as never)]);
    expect(writes).toEqual([]);
    await r.report({ ok: 'x'.repeat(PROGRESS_LIMIT_BYTES - 10) });
    expect(writes).toHaveLength(1);
    await r.finish();
  });

  it('keeps a value DynamoDB refused for the next turn, later each time, and hands it to the outcome write if none comes', async () => {
    let fail = 2;
    const { r, writes } = reporter(async () => {
      if (fail-- > 0) throw new Error('DynamoDB UpdateItem failed');
      return { outcome: 'written' };
    });
    await r.report({ done: 1 });
    await settle(timing.everyMs * 2 + 30);
    expect(writes.map((w) => w.json)).toEqual(['{"done":1}', '{"done":1}']);
    // The second refusal waits twice the interval: the third try has not come yet.
    expect(await r.finish()).toBe('{"done":1}');
  });

  it('stops writing once the attempt does not own the task, or a cancel is asked, and says so once', async () => {
    const { r, writes, refused } = reporter(async () => ({ outcome: 'cancel', requestedAt: '2026-01-01T00:00:00.000Z' }));
    await r.report(1);
    await r.report(2);
    await settle(timing.everyMs + 20);
    expect(writes).toHaveLength(1);
    expect(refused).toEqual([{ outcome: 'cancel', requestedAt: '2026-01-01T00:00:00.000Z' }]);
    expect(await r.finish()).toBeUndefined();
  });

  it('drops values reported after the attempt ended', async () => {
    const { r, writes } = reporter();
    expect(await r.finish()).toBeUndefined();
    await r.report(1);
    expect(writes).toEqual([]);
  });
});
