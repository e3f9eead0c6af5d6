import { loggableError } from '../taskError';
import { errorResponse, type HttpResponse } from './response';

/**
 * Wraps an HTTP Lambda handler (API Gateway) so that what it throws becomes
 * this API's JSON error, with the right status, instead of a Lambda error (a
 * bare 500): a BackgroundEnqueueError from withBackgroundTasks is a 503 with
 * Retry-After, a ValidationError a 400, anything unexpected a 500 that shows
 * nothing of its cause (which is logged).
 */
export function withHttpErrors<E, C, R>(handler: (event: E, context: C) => Promise<R>): (event: E, context: C) => Promise<R | HttpResponse> {
  return async (event, context) => {
    try {
      return await handler(event, context);
    } catch (error) {
      const response = errorResponse(error);
      if (response.statusCode >= 500) console.error('Request failed', loggableError(error));
      return response;
    }
  };
}
