import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { toApiRequest } from '../http/request';
import { errorResponse, type HttpResponse } from '../http/response';
import { createRouter } from '../http/router';
import { dashboardRoutes } from './routes';

/**
 * The dashboard's own Lambda: three static files, no engine, no AWS client and
 * no permission but its logs. Kept out of the api function so the task API's
 * cold start does not carry the page, and a bug here cannot reach the table.
 */
export function createDashboardHandler() {
  const route = createRouter(dashboardRoutes());
  return async (event: APIGatewayProxyEventV2, context: Context): Promise<HttpResponse> => {
    try {
      const req = toApiRequest(event, context);
      return await route(req).route.handle(req);
    } catch (error) {
      const response = errorResponse(error);
      // The client sees only the code; the cause goes to the function's log.
      if (response.statusCode >= 500) console.error('Dashboard request failed', error);
      return response;
    }
  };
}
