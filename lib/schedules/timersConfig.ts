import { CALL_TIMEOUTS } from '../clients';
import type { OutgoingMessage } from '../message';
import type { TaskStore } from '../store/taskStore';
import * as z from '../zod';
import type { SchedulerTargets } from './schedulerTimers';
import { TableTimers } from './tableTimers';
import type { TaskTimers } from './timers';

const Arn = z.string().check(z.regex(/^arn:[\w-]+:[\w-]+:/, 'an ARN'));

const TargetsEnv = z.object({
  SCHEDULE_GROUP: z.string().check(z.regex(/^[0-9a-zA-Z_.-]{1,64}$/, 'a schedule group name')),
  SCHEDULER_ROLE_ARN: Arn,
  QUEUE_ARN_HIGH: Arn,
  QUEUE_ARN_DEFAULT: Arn,
  DEAD_LETTER_QUEUE_ARN_HIGH: Arn,
  DEAD_LETTER_QUEUE_ARN_DEFAULT: Arn,
});

/**
 * Where one-time schedules go, from the environment serverless.yml gives every
 * function; undefined without SCHEDULE_GROUP (a local run, a test). Read once,
 * at cold start, with a message naming each missing or malformed variable.
 */
export function schedulerTargetsFrom(env: NodeJS.ProcessEnv = process.env): SchedulerTargets | undefined {
  if (!env.SCHEDULE_GROUP) return undefined;
  const parsed = TargetsEnv.safeParse(env);
  if (!parsed.success) throw new Error(`Invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const e = parsed.data;
  return {
    group: e.SCHEDULE_GROUP,
    roleArn: e.SCHEDULER_ROLE_ARN,
    queueArns: { high: e.QUEUE_ARN_HIGH, default: e.QUEUE_ARN_DEFAULT },
    deadLetterArns: { high: e.DEAD_LETTER_QUEUE_ARN_HIGH, default: e.DEAD_LETTER_QUEUE_ARN_DEFAULT },
  };
}

/** EventBridge Scheduler where a schedule group is configured (AWS); else timers in the table, which `npm start` polls. */
export function createTimers(store: TaskStore, env: NodeJS.ProcessEnv = process.env): TaskTimers {
  const targets = schedulerTargetsFrom(env);
  return targets ? new DeferredSchedulerTimers(targets) : new TableTimers(store);
}

/**
 * SchedulerTimers, with the Scheduler client loaded on the first task that
 * needs a timer: most requests never do, and loading it at cold start cost
 * the api ~9 ms of require time (measured on its bundle).
 */
class DeferredSchedulerTimers implements TaskTimers {
  private timers?: Promise<TaskTimers>;

  constructor(private readonly targets: SchedulerTargets) {}

  private load(): Promise<TaskTimers> {
    this.timers ??= Promise.all([import('@aws-sdk/client-scheduler'), import('./schedulerTimers')]).then(
      ([{ SchedulerClient }, { SchedulerTimers }]) => new SchedulerTimers(new SchedulerClient({ requestHandler: CALL_TIMEOUTS }), this.targets),
    );
    return this.timers;
  }

  async set(out: OutgoingMessage, runAtMs: number): Promise<void> {
    return (await this.load()).set(out, runAtMs);
  }

  async clear(taskId: string, run: number, runAtMs: number): Promise<void> {
    return (await this.load()).clear(taskId, run, runAtMs);
  }
}
