import type { Logger } from '@aws-lambda-powertools/logger';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { guardedWrite, newWriteToken, onFailureReturnItem } from '../store/dynamo';
import { stateKey, type StateItem } from '../store/items';
import type { TaskStore } from '../store/taskStore';
import { loggableError } from '../taskError';
import { byteLength } from '../text';

/** A progress value's JSON may be this large: a state item that stays small (one write unit for a few hundred bytes). */
export const PROGRESS_LIMIT_BYTES = 4 * 1024;

/** What a progress write found: it landed, the run's attempt was asked to stop, or the attempt no longer owns the task. */
export type ProgressWrite = { outcome: 'written' } | { outcome: 'cancel'; requestedAt: string } | { outcome: 'lost' };

/**
 * Writes a running attempt's progress on its task's state: only while that
 * attempt owns the task (RUNNING, its run and attempt number), so a late
 * write can never touch a later attempt or run, and only while no cancel was
 * asked (the refusal, which returns the item at no cost, is how the attempt
 * learns of it without a read).
 */
export async function writeProgress(store: TaskStore, claimed: StateItem, progressJson: string, now: Date): Promise<ProgressWrite> {
  const token = newWriteToken();
  const out = await guardedWrite('UpdateItem', token, () =>
    store.client.send(
      new UpdateCommand({
        TableName: store.tableName,
        Key: stateKey(claimed.taskId),
        UpdateExpression: 'SET progressJson = :progress, progressAt = :now, updatedAt = :now, wt = :wt',
        ConditionExpression: '#s = :running AND run = :run AND attempts = :attempt AND attribute_not_exists(cancelRequestedAt)',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':progress': progressJson, ':now': now.toISOString(), ':running': 'RUNNING', ':run': claimed.run, ':attempt': claimed.attempts, ':wt': token },
        ...onFailureReturnItem,
      }),
    ),
  );
  if (out.applied) return { outcome: 'written' };
  return refusal(claimed, out.item as StateItem | undefined);
}

/** What a state (as a refused write or a read found it) says to the attempt `claimed`. */
export function refusal(claimed: StateItem, state: Pick<StateItem, 'status' | 'run' | 'attempts' | 'cancelRequestedAt'> | undefined): ProgressWrite {
  const ours = state?.status === 'RUNNING' && state.run === claimed.run && state.attempts === claimed.attempts;
  if (!ours) return { outcome: 'lost' };
  return state.cancelRequestedAt === undefined ? { outcome: 'written' } : { outcome: 'cancel', requestedAt: state.cancelRequestedAt };
}

/** How often progress is written, and how long a refused write waits at most before the next try. */
export interface ProgressTiming {
  everyMs: number;
  maxBackoffMs: number;
}

export const PROGRESS_TIMING: ProgressTiming = { everyMs: 1_000, maxBackoffMs: 30_000 };

/**
 * One attempt's `ctx.progress`: at most one write per `everyMs`, the last
 * value always written (by the outcome write, if the attempt ends before its
 * turn comes). A write DynamoDB refuses is logged and its value kept for the
 * next turn, which comes later each time it fails (up to `maxBackoffMs`); the
 * handler never sees an error from it. After the attempt ends, values are dropped.
 */
export class ProgressReporter {
  private pending: string | undefined;
  private lastStart = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private failures = 0;
  private closed = false;
  /** Resolves the promises of the values the next write carries (or drops). */
  private waiters: Array<() => void> = [];

  constructor(
    private readonly write: (progressJson: string) => Promise<ProgressWrite>,
    private readonly onRefusal: (refused: Exclude<ProgressWrite, { outcome: 'written' }>) => void,
    private readonly logger: Logger,
    private readonly timing: ProgressTiming = PROGRESS_TIMING,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes a value; resolves once it is written, replaced by a newer one, or dropped. Never rejects. */
  report(value: unknown): Promise<void> {
    if (this.closed) return Promise.resolve();
    const json = this.serialise(value);
    if (json === undefined) return Promise.resolve();
    this.pending = json;
    const done = new Promise<void>((resolve) => this.waiters.push(resolve));
    this.schedule();
    return done;
  }

  /** Stops reporting; the value not yet written, for the outcome write to carry. */
  async finish(): Promise<string | undefined> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
    this.release();
    return this.pending;
  }

  private serialise(value: unknown): string | undefined {
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (error) {
      this.logger.warn('Progress not recorded: the value is not JSON', { error: loggableError(error) });
      return undefined;
    }
    if (json === undefined) {
      this.logger.warn('Progress not recorded: the value is not JSON', { type: typeof value });
      return undefined;
    }
    const bytes = byteLength(json);
    if (bytes > PROGRESS_LIMIT_BYTES) {
      this.logger.warn('Progress not recorded: the value is over the limit', { bytes, limitBytes: PROGRESS_LIMIT_BYTES });
      return undefined;
    }
    return json;
  }

  private schedule(): void {
    if (this.writing || this.timer || this.closed || this.pending === undefined) return;
    const gap = this.failures === 0 ? this.timing.everyMs : Math.min(this.timing.maxBackoffMs, this.timing.everyMs * 2 ** this.failures);
    // Even when a write is due now, the next tick: values reported in one go make one write.
    this.timer = setTimeout(() => void this.flush(), Math.max(0, this.lastStart + gap - this.now()));
  }

  private async flush(): Promise<void> {
    this.timer = undefined;
    const json = this.pending;
    if (this.closed || json === undefined) return;
    this.pending = undefined;
    const waiters = this.waiters;
    this.waiters = [];
    this.lastStart = this.now();
    this.writing = this.writeOnce(json);
    await this.writing;
    this.writing = undefined;
    for (const resolve of waiters) resolve();
    this.schedule();
  }

  private async writeOnce(json: string): Promise<void> {
    try {
      const written = await this.write(json);
      this.failures = 0;
      if (written.outcome === 'written') return;
      // Not this attempt's to write any more, or a cancel is asked: nothing more is written.
      this.closed = true;
      this.onRefusal(written);
    } catch (error) {
      this.failures++;
      // Kept for the next turn (or the outcome write), unless a newer value came meanwhile.
      this.pending ??= json;
      this.logger.warn('Progress could not be written; it is kept for the next write', { error: loggableError(error), failures: this.failures });
    }
  }

  private release(): void {
    for (const resolve of this.waiters) resolve();
    this.waiters = [];
  }
}
