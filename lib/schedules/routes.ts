import type { Engine } from '../engine';
import { json } from '../http/response';
import type { Route } from '../http/router';
import type { ResponseDoc } from '../http/routeDoc';
import { described } from '../http/schemas';
import * as z from '../zod';
import { listSchedules, pauseSchedule } from './schedulesView';

const Timestamp = z.iso.datetime();

const ScheduleSchema = z.object({
  name: described(z.string(), 'The task the schedule enqueues; it names the schedule too.'),
  cron: z.optional(described(z.string(), 'The cron expression as the task defines it (five or six fields).')),
  every: z.optional(described(z.string(), 'The rate as the task defines it (`5 minutes`).')),
  timezone: described(z.string(), 'The IANA time zone the cron is read in.'),
  expression: described(z.string(), 'As EventBridge Scheduler runs it: `cron(...)` or `rate(...)`.'),
  nextRunAt: described(z.nullable(Timestamp), 'The next tick; null while paused, and for a rate before its first tick.'),
  paused: z.boolean(),
  lastRunAt: z.optional(described(Timestamp, 'The scheduled time of the last tick that enqueued a task.')),
  lastTaskId: z.optional(described(z.string(), 'The task that tick enqueued.')),
});
z.globalRegistry.add(ScheduleSchema, { id: 'Schedule', description: 'A recurring schedule, from its task’s definition, with what the table knows of it.' });

const SchedulePage = z.object({ items: z.array(ScheduleSchema) });
z.globalRegistry.add(SchedulePage, { id: 'SchedulePage' });

const nameParam = { name: { description: 'The schedule’s name: its task’s.', schema: z.string().check(z.minLength(1), z.maxLength(128)) } };
const notFound: ResponseDoc = { description: 'No task has a schedule of that name (`schedule_not_found`).' };

/** GET /schedules, POST /schedules/{name}/pause and /resume (docs/scheduling.md). */
export function scheduleRoutes(engine: Engine): Route[] {
  const toggle = (paused: boolean): Route => ({
    method: 'POST',
    path: `/schedules/{name}/${paused ? 'pause' : 'resume'}`,
    doc: {
      operationId: paused ? 'pauseSchedule' : 'resumeSchedule',
      tag: 'schedules',
      summary: paused ? 'Pause a recurring schedule' : 'Resume a paused schedule',
      description: paused
        ? 'Its ticks enqueue nothing until it is resumed; no deploy needed. Pausing a paused schedule changes nothing.'
        : 'Its next tick enqueues its task again. Ticks missed while paused are not made up.',
      params: nameParam,
      responses: { 200: { description: 'The schedule, as it is now.', schema: ScheduleSchema }, 404: notFound },
    },
    handle: async (req) => json(200, await pauseSchedule(engine, req.params.name ?? '', paused)),
  });
  return [
    {
      method: 'GET',
      path: '/schedules',
      doc: {
        operationId: 'listSchedules',
        tag: 'schedules',
        summary: 'List the recurring schedules and their next runs',
        responses: { 200: { description: 'Every task’s schedule, in the order the tasks are defined.', schema: SchedulePage } },
      },
      handle: async () => json(200, { items: await listSchedules(engine) }),
    },
    toggle(true),
    toggle(false),
  ];
}
