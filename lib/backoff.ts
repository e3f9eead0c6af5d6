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
 * Seconds before a message whose task cannot be read comes back: quickly at
 * first (the task's record is usually a moment behind its message), then up
 * to a minute, until SQS's redrive takes it to the dead-letter queue.
 */
export function orphanBackoffSeconds(receiveCount: number): number {
  return Math.min(60, 2 ** Math.min(Math.max(receiveCount, 1), 6));
}
