/**
 * The control options of a task definition: how many of its attempts may run
 * at once (in all, or per key) and how fast they may start. Checked once, by
 * defineTask, with messages that name the task and the option.
 */

/** A key read off a task's payload: a tenant, an account, a mailbox. */
export type KeyOf<P> = (payload: P) => string;

export interface RateLimitOptions<P = unknown> {
  /** Tokens per `per`. */
  max: number;
  /** The window: seconds, or text such as '1 second', '10 seconds', '1 minute', '1 hour', '1 day'. */
  per: number | string;
  /**
   * Tokens that may be taken at once after a quiet spell. Default 1: starts
   * are spaced evenly, one every `per / max`, so no window of `per` ever holds
   * more than `max` of them. With `burst: b`, one such window may hold up to
   * `max + b - 1`.
   */
  burst?: number;
  /** A bucket per key instead of one per task type. */
  key?: KeyOf<P>;
}

/** What defineTask accepts. */
export interface ControlOptions<P = unknown> {
  /** At most this many attempts of the task run at once, across every worker instance (1 to 100). */
  concurrency?: number;
  /** Makes `concurrency` a limit per key (each key has that many slots). */
  concurrencyKey?: KeyOf<P>;
  rateLimit?: RateLimitOptions<P>;
}

/** The options as the engine holds them, checked, with the window in milliseconds. */
export interface TaskControl {
  concurrency?: { limit: number; key?: KeyOf<unknown> };
  rateLimit?: { intervalMs: number; burst: number; key?: KeyOf<unknown> };
}

/** The largest concurrency limit: its slots are read in one small Query. */
export const MAX_CONCURRENCY = 100;

const UNITS: Record<string, number> = { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const PER = /^\s*(\d+(?:\.\d+)?)?\s*(second|minute|hour|day)s?\s*$/;

/** `per` in milliseconds: seconds as a number, or text ('1 minute', '10 seconds', 'hour'); undefined if it is neither. */
export function parsePer(per: number | string): number | undefined {
  if (typeof per === 'number') return Number.isFinite(per) && per > 0 ? per * 1_000 : undefined;
  const match = PER.exec(per);
  if (!match) return undefined;
  const count = match[1] === undefined ? 1 : Number(match[1]);
  return count > 0 ? count * UNITS[match[2]!]! : undefined;
}

/** Checks a definition's control options; undefined when it has none. Throws a TypeError naming what is wrong. */
export function checkControl(name: string, options: ControlOptions<never>): TaskControl | undefined {
  const fail = (what: string) => {
    throw new TypeError(`defineTask(${name}): ${what}`);
  };
  const control: TaskControl = {};
  const { concurrency, concurrencyKey, rateLimit } = options as ControlOptions;
  if (concurrency !== undefined) {
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) fail(`concurrency must be an integer from 1 to ${MAX_CONCURRENCY}`);
    if (concurrencyKey !== undefined && typeof concurrencyKey !== 'function') fail('concurrencyKey must be a function of the payload');
    control.concurrency = { limit: concurrency, ...(concurrencyKey ? { key: concurrencyKey } : {}) };
  } else if (concurrencyKey !== undefined) {
    fail('concurrencyKey needs concurrency (the limit per key)');
  }
  if (rateLimit !== undefined) {
    const { max, per, burst = 1, key } = rateLimit;
    if (!Number.isInteger(max) || max < 1) fail('rateLimit.max must be a positive integer');
    const perMs = parsePer(per);
    if (perMs === undefined) fail(`rateLimit.per must be seconds (a positive number) or text such as '1 minute'; got ${JSON.stringify(per)}`);
    if (!Number.isInteger(burst) || burst < 1 || burst > max) fail('rateLimit.burst must be an integer from 1 to rateLimit.max');
    if (key !== undefined && typeof key !== 'function') fail('rateLimit.key must be a function of the payload');
    control.rateLimit = { intervalMs: perMs! / max, burst, ...(key ? { key } : {}) };
  }
  return control.concurrency || control.rateLimit ? control : undefined;
}
