import '../lib/tasks';
import { createApiHandler } from '../lib/http/api';

/** API Gateway HTTP API (payload v2) → every route of the task API (the dashboard has its own function). */
export const handler = createApiHandler();
