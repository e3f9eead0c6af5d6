import { withBackgroundTasks } from '../background';
import type { Engine } from '../engine';
import { ValidationError } from '../errors';
import type { ApiRequest } from '../http/request';
import { json, type HttpResponse } from '../http/response';
import type { Route } from '../http/router';
import { described } from '../http/schemas';
import { statusUrl } from '../http/taskRoutes';
import * as z from '../zod';
import { writeLog } from './examples';

const EmailQuery = z.object({ email: described(z.pipe(z.string().check(z.trim()), z.email().check(z.maxLength(254))), 'Where the notification goes.') });
const Sent = z.object({ message: z.literal('Notification sent in the background'), taskId: z.string() });

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
  return [
    {
      method: 'POST',
      path: '/send-notification',
      doc: {
        operationId: 'sendNotification',
        tag: 'application',
        summary: 'Send a notification in the background (the seed example)',
        description: 'Answers at once; a write_log task logs "Notification sent to {email}".',
        query: EmailQuery,
        responses: {
          202: { description: 'The notification is queued.', schema: Sent, headers: { Location: 'The task\'s status URL.' } },
          400: { description: 'email is missing or not an email address (`validation_error`).' },
          503: { description: 'The task could not be enqueued, so nothing was (`background_enqueue_failed`), or no API key is configured (`auth_not_configured`).', headers: { 'Retry-After': 'Seconds to wait before trying again.' } },
        },
      },
      handle: (req) => sendNotification(req, req.lambdaContext),
    },
  ];
}
