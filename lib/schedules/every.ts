/**
 * `every: '5 minutes'`: a rate, as EventBridge Scheduler's `rate(value unit)`
 * reads it (minutes, hours or days; a day is 24 hours on the clock, whatever
 * DST does to the calendar). A rate runs from when its schedule starts, not
 * on the clock's round numbers: see nextRateRun.
 */
export interface Rate {
  value: number;
  unit: 'minute' | 'hour' | 'day';
  /** The period in ms. */
  ms: number;
  /** As EventBridge takes it: `rate(5 minutes)`, `rate(1 hour)`. */
  expression: string;
}

const UNIT_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/** The longest period accepted: a year of days. */
const MAX_DAYS = 365;

export class EverySyntaxError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'EverySyntaxError';
  }
}

/** Reads `5 minutes`, `1 hour`, `2 days` (singular or plural); throws EverySyntaxError. */
export function parseEvery(text: string): Rate {
  const m = /^\s*(\d+)\s+(minute|hour|day)s?\s*$/i.exec(text);
  const value = m ? Number(m[1]) : NaN;
  const unit = m?.[2]?.toLowerCase() as Rate['unit'] | undefined;
  if (!unit || !Number.isSafeInteger(value) || value < 1) {
    throw new EverySyntaxError(`"${text}" is not a rate: write a whole number of minutes, hours or days, such as "5 minutes" or "1 day"`);
  }
  const ms = value * UNIT_MS[unit];
  if (ms > MAX_DAYS * UNIT_MS.day) throw new EverySyntaxError(`"${text}" is longer than ${MAX_DAYS} days`);
  return { value, unit, ms, expression: `rate(${value} ${unit}${value === 1 ? '' : 's'})` };
}

/**
 * The first run strictly after `afterMs` of a rate that ran (or was to run)
 * at `anchorMs`: the anchor plus a whole number of periods.
 */
export function nextRateRun(rate: Rate, anchorMs: number, afterMs: number): number {
  if (afterMs < anchorMs) return anchorMs;
  return anchorMs + (Math.floor((afterMs - anchorMs) / rate.ms) + 1) * rate.ms;
}
