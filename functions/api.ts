import '../lib/tasks';
import { createApiHandler } from '../lib/http/api';
import { exampleRoutes } from '../lib/tasks/routes';

/** API Gateway HTTP API (payload v2) → every route of the task API and the seed's (the dashboard has its own function). */
export const handler = createApiHandler({ routes: exampleRoutes });
