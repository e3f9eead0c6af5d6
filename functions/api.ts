// First: the OpenTelemetry SDK, where tracing is on (bundled only then: docs/tracing.md).
import '../lib/tracing/setup/register';
import '../lib/tasks';
import openApiDocument from 'virtual:openapi-document';
import { createApiHandler, type ApiOptions } from '../lib/http/api';
import { exampleRoutes } from '../lib/tasks/routes';
import { flushingTraces } from '../lib/tracing';

/** What this api serves beside the task API; the build documents it from here (lib/build/openapiDocument.cjs). */
export const apiOptions: ApiOptions = { routes: exampleRoutes };

/** API Gateway HTTP API (payload v2) → every route of the task API and the seed's (the dashboard has its own function). */
export const handler = flushingTraces(createApiHandler({ ...apiOptions, openApiDocument }));
