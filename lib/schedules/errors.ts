import { TaskQueueError } from '../errors';

/** No registered task has a schedule of that name (POST /schedules/{name}/pause | resume): 404. */
export class ScheduleNotFoundError extends TaskQueueError {
  constructor(readonly scheduleName: string) {
    super('schedule_not_found', `No schedule named "${scheduleName}"`);
  }
}
