import { ConflictException, CreateScheduleCommand, DeleteScheduleCommand, ResourceNotFoundException, type SchedulerClient } from '@aws-sdk/client-scheduler';
import { boundCalls } from '../deadline';
import { DependencyUnavailableError } from '../errors';
import { messageBody, type OutgoingMessage } from '../message';
import type { Priority } from '../types';
import type { TaskTimers } from './timers';

/** Where one-time schedules live and whom they send to: serverless.yml passes these in the environment. */
export interface SchedulerTargets {
  /** The stage's schedule group. */
  group: string;
  /** The role the scheduler takes to send: it may send to the task queues and their dead-letter queues, nothing else. */
  roleArn: string;
  queueArns: Record<Priority, string>;
  deadLetterArns: Record<Priority, string>;
}

/** A day of retries (185 at most, Scheduler's own cap) if the queue refuses the message; then it goes to the dead-letter queue. */
const RETRY_POLICY = { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 };

/** Every one-time schedule's name starts so: the api's IAM may create and delete these and no others. */
export const TIMER_PREFIX = 'run-';

/** The one-time schedule of a task's run. */
export function timerName(taskId: string, run: number): string {
  return `${TIMER_PREFIX}${taskId}-${run}`;
}

/**
 * When the schedule of a first run fires: a minute before runAt, rounded down
 * to the minute, in UTC. Scheduler invokes its target somewhere within the
 * minute it is set for (its precision is 60 s), so the message always arrives
 * before runAt, and the worker hands it back to SQS for the seconds left: the
 * task starts within about a second of runAt, not within a minute.
 */
export function fireExpression(runAtMs: number): string {
  const minute = Math.floor((runAtMs - 60_000) / 60_000) * 60_000;
  return `at(${new Date(minute).toISOString().slice(0, 19)})`;
}

/**
 * When the schedule of a later run fires: in the minute after runAt's. Only a
 * first run's early message is held back by the worker (a later run is
 * normally a retry, which runs at once); a later run with a timer is an
 * Idempotency-Key's new run of a stopped first one, and must not come early
 * either: up to two minutes late, never before.
 */
export function lateFireExpression(runAtMs: number): string {
  return fireExpression(runAtMs + 120_000);
}

/**
 * Task timers as EventBridge Scheduler one-time schedules: each sends its
 * task's message to the task's queue and deletes itself once it has
 * (ActionAfterCompletion DELETE). About $1 per million (docs/scheduling.md).
 */
export class SchedulerTimers implements TaskTimers {
  constructor(
    private readonly client: SchedulerClient,
    private readonly targets: SchedulerTargets,
  ) {
    boundCalls(client);
  }

  async set(out: OutgoingMessage, runAtMs: number): Promise<void> {
    const { taskId, run } = out.message;
    try {
      await this.client.send(
        new CreateScheduleCommand({
          Name: timerName(taskId, run),
          GroupName: this.targets.group,
          ScheduleExpression: run === 1 ? fireExpression(runAtMs) : lateFireExpression(runAtMs),
          ScheduleExpressionTimezone: 'UTC',
          FlexibleTimeWindow: { Mode: 'OFF' },
          ActionAfterCompletion: 'DELETE',
          Description: `Sends task ${taskId} (run ${run}) to its queue for ${new Date(runAtMs).toISOString()}`,
          Target: {
            Arn: this.targets.queueArns[out.priority],
            RoleArn: this.targets.roleArn,
            Input: messageBody(out.message),
            RetryPolicy: RETRY_POLICY,
            DeadLetterConfig: { Arn: this.targets.deadLetterArns[out.priority] },
          },
        }),
      );
    } catch (error) {
      // The name is the task's run: a schedule already there is this one, set by an earlier try whose answer was lost.
      if (error instanceof ConflictException) return;
      throw new DependencyUnavailableError('scheduler', 'CreateSchedule', error);
    }
  }

  async clear(taskId: string, run: number): Promise<void> {
    try {
      await this.client.send(new DeleteScheduleCommand({ Name: timerName(taskId, run), GroupName: this.targets.group }));
    } catch (error) {
      // Fired (and deleted itself) already, or never made: nothing left to remove.
      if (error instanceof ResourceNotFoundException) return;
      throw new DependencyUnavailableError('scheduler', 'DeleteSchedule', error);
    }
  }
}
