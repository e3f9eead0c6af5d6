import '../lib/tasks';
import { dashboardRoutes } from '../lib/dashboard/routes';
import { createApiHandler } from '../lib/http/api';

/** API Gateway HTTP API (payload v2) → every route of the task API, plus the dashboard's page. */
export const handler = createApiHandler({ routes: dashboardRoutes });
