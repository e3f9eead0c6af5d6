import { createDashboardHandler } from '../lib/dashboard/handler';

/** API Gateway HTTP API (payload v2) → the dashboard's page, script and style. */
export const handler = createDashboardHandler();
