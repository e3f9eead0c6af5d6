import type { Logger } from '@aws-lambda-powertools/logger';
import type { Engine } from '../engine';
import type { StateItem } from '../store/items';
import { CANCEL_TIMING, CancelWatch, stateReader, type CancelTiming } from './cancelWatch';
import { TaskCancelledError } from './errors';
import { PROGRESS_TIMING, ProgressReporter, writeProgress, type ProgressTiming, type ProgressWrite } from './progress';

/** What the worker gets for one running attempt: `ctx.progress`, and the cancel a client may ask for. */
export interface AttemptControl {
  /** `ctx.progress`. */
  progress(value: unknown): Promise<void>;
  /** Rejects with the TaskCancelledError (after aborting the signal with it) once a cancel is noticed; never resolves. */
  readonly cancelled: Promise<never>;
  /** Stops watching; the attributes the outcome write carries: the last progress, if it was not written yet. */
  finish(): Promise<Record<string, string>>;
}

export interface AttemptTiming {
  progress: ProgressTiming;
  cancel: CancelTiming;
}

const ATTEMPT_TIMING: AttemptTiming = { progress: PROGRESS_TIMING, cancel: CANCEL_TIMING };

/**
 * Watches one running attempt (`claimed`) for the features of lib/control that
 * need it while it runs. Costs nothing for a task that reports no progress
 * and ends within `cancel.afterMs`.
 */
export function controlAttempt(engine: Engine, claimed: StateItem, controller: AbortController, logger: Logger, timing: AttemptTiming = ATTEMPT_TIMING): AttemptControl {
  let reject!: (error: TaskCancelledError) => void;
  const cancelled = new Promise<never>((_, r) => (reject = r));
  // Nobody may be racing it any more when it rejects (the attempt ended): that is no error.
  cancelled.catch(() => undefined);

  const now = () => engine.now().getTime();
  let heardOnce = false;
  const heard = (seen: Exclude<ProgressWrite, { outcome: 'written' }>) => {
    watch.stop();
    if (seen.outcome === 'lost' || heardOnce) return;
    heardOnce = true;
    const error = new TaskCancelledError(seen.requestedAt);
    logger.info('Cancel asked: aborting the task\'s signal', { cancelRequestedAt: seen.requestedAt });
    controller.abort(error);
    reject(error);
  };
  const watch = new CancelWatch(stateReader(engine.store, claimed.taskId), claimed, heard, timing.cancel, now);
  const reporter = new ProgressReporter(
    async (json) => {
      const written = await writeProgress(engine.store, claimed, json, engine.now());
      watch.checked();
      return written;
    },
    heard,
    logger,
    timing.progress,
    now,
  );

  return {
    progress: (value) => reporter.report(value),
    cancelled,
    async finish(): Promise<Record<string, string>> {
      watch.stop();
      const last = await reporter.finish();
      return last === undefined ? {} : { progressJson: last, progressAt: engine.now().toISOString() };
    },
  };
}
