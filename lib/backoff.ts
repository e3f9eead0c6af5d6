import type { BackoffOptions } from './task';

/**
 * Seconds before retry number `attempt` (1 after the first failure):
 * exponential up to `maxSeconds`, with "equal jitter": between half the step
 * and the whole step. Tasks that fail together spread out, and every retry
 * still waits at least half its step, so a backoff of 60 s means 30 s at least.
 */
export function retryDelaySeconds(attempt: number, options: Required<BackoffOptions>, random: () => number = Math.random): number {
  const step = Math.min(options.maxSeconds, options.baseSeconds * 2 ** (attempt - 1));
  return step / 2 + (random() * step) / 2;
}

/**
 * Seconds before a message that names no record (or no task at all) comes
 * back: quickly at first (the task's record is usually a moment behind its
 * message), then up to a minute, until SQS's redrive takes it to the
 * dead-letter queue.
 */
export function orphanBackoffSeconds(receiveCount: number): number {
  return Math.min(60, 2 ** Math.min(Math.max(receiveCount, 1), 6));
}

/** The longest wait between two receives of a message that DynamoDB's outage sends back. */
export const OUTAGE_BACKOFF_CAP_SECONDS = 1_200;

/**
 * Seconds before a message comes back when its task could not be read or
 * written (DynamoDB unavailable) or cannot run here yet (a task type this
 * worker does not know: a deploy in progress). Doubling from 2 s, so a blip
 * costs seconds, up to 20 minutes: every delivery spends one of the queue's
 * receives (maxReceiveCount, 50), and at this pace 50 receives last 13.6
 * hours, so an outage of 12 hours sends no task to the dead-letter queue.
 */
export function outageBackoffSeconds(receiveCount: number): number {
  return Math.min(OUTAGE_BACKOFF_CAP_SECONDS, 2 ** Math.min(Math.max(receiveCount, 1), 11));
}
