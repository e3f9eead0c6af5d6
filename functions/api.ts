import '../lib/tasks';
import openApiDocument from 'virtual:openapi-document';
import { createApiHandler, type ApiOptions } from '../lib/http/api';
import { exampleRoutes } from '../lib/tasks/routes';

/** What this api serves beside the task API; the build documents it from here (lib/build/openapiDocument.cjs). */
export const apiOptions: ApiOptions = { routes: exampleRoutes };

/** API Gateway HTTP API (payload v2) → every route of the task API and the seed's (the dashboard has its own function). */
export const handler = createApiHandler({ ...apiOptions, openApiDocument });
