import { TaskQueueError } from '../errors';

/** A signal for a workflow that is not waiting for it (409): another name, no wait step, or its wait has timed out. */
export class SignalNotExpectedError extends TaskQueueError {
  constructor(
    readonly taskId: string,
    readonly signal: string,
    why: string,
  ) {
    super('invalid_state', `Task ${taskId} is not waiting for a "${signal}" signal: ${why}`);
  }
}
