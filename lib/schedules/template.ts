import type { Priority } from '../types';
import { recurringScheduleName, scheduleLogicalId, verifySchedule, type RecurringSchedule } from './schedule';
import { tickInput } from './tick';

/**
 * The CloudFormation of the recurring schedules: one AWS::Scheduler::Schedule
 * per task that has a schedule, in the stage's schedule group, sending its
 * tick to the task's queue with the scheduler's role. Made at package time
 * from the task definitions (lib/build/schedules.cjs), so a schedule is a
 * change of code and a deploy; `npm start` reads the same resources and runs
 * them (localScheduler.ts).
 */

/** The queues of serverless.yml, by priority, and their dead-letter queues: a tick goes where its task would. */
const QUEUE_OF: Record<Priority, { queue: string; deadLetters: string }> = {
  high: { queue: 'HighQueue', deadLetters: 'HighDeadLetterQueue' },
  default: { queue: 'DefaultQueue', deadLetters: 'DefaultDeadLetterQueue' },
};

export interface ScheduleResource {
  Type: 'AWS::Scheduler::Schedule';
  Properties: Record<string, unknown>;
}

export function scheduleResources(tasks: ReadonlyArray<{ schedule?: RecurringSchedule; priority: Priority }>): Record<string, ScheduleResource> {
  const resources: Record<string, ScheduleResource> = {};
  for (const { schedule, priority } of tasks) {
    if (!schedule) continue;
    verifySchedule(schedule);
    const { queue, deadLetters } = QUEUE_OF[priority];
    resources[scheduleLogicalId(schedule.name)] = {
      Type: 'AWS::Scheduler::Schedule',
      Properties: {
        Name: recurringScheduleName(schedule.name),
        GroupName: { Ref: 'ScheduleGroup' },
        Description: `Enqueues ${schedule.name}: ${schedule.cron !== undefined ? `cron ${schedule.cron}` : `every ${schedule.every}`} (${schedule.timezone})`.slice(0, 512),
        ScheduleExpression: schedule.expression,
        ScheduleExpressionTimezone: schedule.timezone,
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'ENABLED',
        Target: {
          Arn: { 'Fn::GetAtt': [queue, 'Arn'] },
          RoleArn: { 'Fn::GetAtt': ['SchedulerRole', 'Arn'] },
          Input: tickInput(schedule.name),
          // A day of retries if the queue refuses the tick, then its dead-letter queue (whose consumer logs it as an ERROR).
          RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [deadLetters, 'Arn'] } },
        },
      },
    };
  }
  return resources;
}
