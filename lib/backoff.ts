import type { BackoffOptions } from './task';

/**
 * Seconds before retry number `attempt` (1 after the first failure): exponential
 * with full jitter, so that tasks failing together do not retry together.
 */
export function retryDelaySeconds(attempt: number, options: Required<BackoffOptions>, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxSeconds, options.baseSeconds * 2 ** (attempt - 1));
  return Math.round(random() * ceiling);
}
