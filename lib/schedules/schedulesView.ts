import type { Engine } from '../engine';
import { registeredTasks } from '../task';
import { ScheduleNotFoundError } from './errors';
import { nextRunOf, type RecurringSchedule } from './schedule';
import { scheduleStates, setPaused, type ScheduleState } from './scheduleStore';

/** A recurring schedule as GET /schedules shows it. */
export interface ScheduleView {
  name: string;
  cron?: string;
  every?: string;
  timezone: string;
  /** As EventBridge runs it: `cron(...)` or `rate(...)`. */
  expression: string;
  /** The next tick; null while paused, and for a rate before its first tick (it runs from its deploy). */
  nextRunAt: string | null;
  paused: boolean;
  lastRunAt?: string;
  lastTaskId?: string;
}

/** Every task's schedule, in the order the tasks are defined. */
export function registeredSchedules(): RecurringSchedule[] {
  return registeredTasks().flatMap((t) => (t.schedule ? [t.schedule] : []));
}

function scheduleNamed(name: string): RecurringSchedule {
  const schedule = registeredSchedules().find((s) => s.name === name);
  if (!schedule) throw new ScheduleNotFoundError(name.slice(0, 128));
  return schedule;
}

/** The view of a schedule with its state (paused, last run) at `nowMs`. */
export function scheduleView(schedule: RecurringSchedule, state: ScheduleState | undefined, nowMs: number): ScheduleView {
  const paused = state?.paused === true;
  const next = paused ? undefined : nextRunOf(schedule, nowMs, state?.lastRunAt === undefined ? undefined : Date.parse(state.lastRunAt));
  return {
    name: schedule.name,
    ...(schedule.cron !== undefined ? { cron: schedule.cron } : { every: schedule.every! }),
    timezone: schedule.timezone,
    expression: schedule.expression,
    nextRunAt: next === undefined ? null : new Date(next).toISOString(),
    paused,
    ...(state?.lastRunAt ? { lastRunAt: state.lastRunAt } : {}),
    ...(state?.lastTaskId ? { lastTaskId: state.lastTaskId } : {}),
  };
}

/** GET /schedules: every schedule the code defines, with what the table knows of it. */
export async function listSchedules(engine: Engine): Promise<ScheduleView[]> {
  const schedules = registeredSchedules();
  if (schedules.length === 0) return [];
  const states = await scheduleStates(engine.store);
  const nowMs = engine.now().getTime();
  return schedules.map((s) => scheduleView(s, states.get(s.name), nowMs));
}

/** Pauses (or resumes) a schedule: its ticks keep coming, and enqueue nothing while it is paused. */
export async function pauseSchedule(engine: Engine, name: string, paused: boolean): Promise<ScheduleView> {
  const schedule = scheduleNamed(name);
  const state = await setPaused(engine.store, schedule.name, paused, engine.now());
  return scheduleView(schedule, state, engine.now().getTime());
}
