import { withBackgroundTasks } from '../background';
import type { Engine } from '../engine';
import { ValidationError } from '../errors';
import type { ApiRequest } from '../http/request';
import { json, type HttpResponse } from '../http/response';
import type { Route } from '../http/router';
import { statusUrl } from '../http/taskRoutes';
import * as z from '../zod';
import { writeLog } from './examples';

const EmailQuery = z.object({ email: z.pipe(z.string().check(z.trim()), z.email().check(z.maxLength(254))) });

/**
 * The seed application's route, written with withBackgroundTasks as an
 * application would write its endpoints: answer at once, log the notification
 * in the background. If the task cannot be enqueued, withBackgroundTasks
 * throws, and the API maps that to a 503 like any other error.
 */
export function exampleRoutes(engine: Engine): Route[] {
  const sendNotification = withBackgroundTasks(
    async (req: ApiRequest, _ctx, backgroundTasks): Promise<HttpResponse> => {
      const parsed = EmailQuery.safeParse(req.query);
      if (!parsed.success) throw new ValidationError('Query parameter "email" must be an email address');
      const { taskId } = backgroundTasks.add(writeLog, { message: `Notification sent to ${parsed.data.email}` });
      return json(202, { message: 'Notification sent in the background', taskId }, { location: statusUrl(taskId) });
    },
    { engine: () => engine },
  );
  return [{ method: 'POST', path: '/send-notification', handle: (req) => sendNotification(req, req.lambdaContext) }];
}
