import type { Logger } from '@aws-lambda-powertools/logger';
import { loggableError } from './taskError';

let contained = false;

/**
 * Keeps a task's stray rejection (a promise it started and never awaited)
 * from ending its whole batch. On an unhandled rejection the Lambda runtime's
 * own listener fails the invocation and exits the process, taking down every
 * other task of the batch, whose outcomes then go unrecorded; Node's default
 * does the same. The worker replaces those listeners with one that logs a
 * warning: the rejection belongs to a task whose own outcome (what it
 * returned or threw) is recorded as usual. A throw outside any promise (an
 * uncaught exception) still ends the process: Node cannot go on safely after one.
 */
export function containStrayRejections(logger: Logger): void {
  if (contained) return;
  contained = true;
  process.removeAllListeners('unhandledRejection');
  process.on('unhandledRejection', (reason) => {
    logger.warn('A task left a promise rejection unhandled; it is ignored, and no other task is affected', { error: loggableError(reason) });
  });
}
