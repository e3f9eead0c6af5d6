import type { Engine } from '../engine';
import { enqueueByName } from '../enqueue';
import { IdempotencyConflictError } from '../errors';
import { getTask } from '../task';
import { loggableError } from '../taskError';
import * as z from '../zod';
import { recordRun, scheduleState } from './scheduleStore';

/**
 * A recurring schedule's tick: the message its EventBridge schedule sends to
 * the task's queue (and `npm start` sends the same way). The worker turns it
 * into the task, enqueued with an Idempotency-Key made of the task's name and
 * the tick's scheduled time, so a tick delivered twice (Scheduler and SQS are
 * both at least once) is one task.
 */
export interface TickMessage {
  /** The task, which is also the schedule's name. */
  tick: string;
  /** When the tick was due, as EventBridge fills it in. */
  scheduledTime: string;
}

/** EventBridge Scheduler puts the tick's due time here in the message it sends. */
export const SCHEDULED_TIME = '<aws.scheduler.scheduled-time>';

const TickSchema = z.strictObject({ tick: z.string().check(z.minLength(1), z.maxLength(128)), scheduledTime: z.iso.datetime({ offset: true }) });

/** The schedule's message, as the template gives it to EventBridge (`Target.Input`). */
export function tickInput(taskName: string): string {
  return JSON.stringify({ tick: taskName, scheduledTime: SCHEDULED_TIME } satisfies TickMessage);
}

/** The tick in a message body, or undefined if the body is not one. */
export function parseTick(body: string): TickMessage | undefined {
  try {
    const parsed = TickSchema.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** One tick, one task: the Idempotency-Key of a tick's task. */
export function tickKey(tick: TickMessage): string {
  return `schedule:${tick.tick}:${new Date(tick.scheduledTime).toISOString()}`;
}

/**
 * Enqueues a tick's task, unless its schedule is paused (the flag is read at
 * each tick, so a pause needs no deploy). True when the tick is dealt with
 * (enqueued, paused, or about a task this code no longer schedules); false
 * when it could not be (DynamoDB or SQS unavailable): its message comes back.
 */
export async function enqueueTick(engine: Engine, tick: TickMessage): Promise<boolean> {
  const schedule = getTask(tick.tick)?.schedule;
  const details = { schedule: tick.tick, scheduledTime: tick.scheduledTime };
  if (!schedule) {
    engine.logger.warn('Tick of a schedule this code does not have (removed since?); dropped', details);
    return true;
  }
  try {
    if ((await scheduleState(engine.store, schedule.name))?.paused) {
      engine.logger.info('Tick skipped: the schedule is paused', details);
      return true;
    }
    const { taskId, created } = await enqueueByName(engine, schedule.name, schedule.payload, { idempotencyKey: tickKey(tick) });
    engine.logger.info(created ? 'Tick enqueued its task' : 'Tick delivered again: its task is already enqueued', { ...details, taskId });
    await recordRun(engine.store, schedule.name, new Date(tick.scheduledTime).toISOString(), taskId, engine.now()).catch((error: unknown) =>
      engine.logger.warn('Could not record the schedule’s last run', { ...details, error: loggableError(error) }),
    );
    return true;
  } catch (error) {
    if (error instanceof IdempotencyConflictError) {
      // Delivered again after a deploy changed the schedule's payload: the tick's task exists, with the old one.
      engine.logger.warn('Tick delivered again with another payload; its task is already enqueued', details);
      return true;
    }
    engine.logger.error('Tick could not enqueue its task; SQS will deliver it again', { ...details, error: loggableError(error) });
    return false;
  }
}
