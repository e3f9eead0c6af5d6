import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { budgetOf, settleBy, withBudget } from '../deadline';
import { getDefaultEngine, type Engine } from '../engine';
import { OutOfTimeError } from '../errors';
import { openApiRoute } from '../openapi/route';
import { scheduleRoutes } from '../schedules/routes';
import { registeredTasks } from '../task';
import { loggableError } from '../taskError';
import { nameRequestSpan, traceRequest } from '../tracing';
import * as z from '../zod';
import { loadApiKeys } from './apiKeys';
import { authorize } from './auth';
import { AuthNotConfiguredError } from './errors';
import { toApiRequest, type ApiRequest } from './request';
import { errorResponse, json, type HttpResponse } from './response';
import { createRouter, type Route } from './router';
import { taskRoutes } from './taskRoutes';
import { workflowRoutes } from '../workflows/routes';

export interface ApiOptions {
  engine?: Engine;
  /** Where the accepted keys come from; read on every request (the SSM source caches). */
  apiKeys?: () => Promise<string[]>;
  /** The application's own routes, served beside the task API (functions/api.ts adds the seed's). */
  routes?: (engine: Engine) => Route[];
  /**
   * The OpenAPI document's JSON text, as the build made it (functions/api.ts:
   * lib/build/openapiDocument.cjs). Without it, GET /openapi.json builds the
   * document from these routes on its first request.
   */
  openApiDocument?: string;
}

/** Builds the api Lambda: one function for every route of the task API, errors mapped in one place. */
export function createApiHandler(options: ApiOptions = {}) {
  let engine: Engine | undefined = options.engine;
  let route: ReturnType<typeof createRouter> | undefined;
  const apiKeys = options.apiKeys ?? (() => loadApiKeys());

  const handle = async (event: APIGatewayProxyEventV2, context: Context): Promise<HttpResponse> => {
    let req: ApiRequest | undefined;
    try {
      const ready = (engine ??= getDefaultEngine());
      const serve = async (): Promise<HttpResponse> => {
        route ??= createRouter(apiRoutes(ready, options));
        req = toApiRequest(event, context);
        const matched = route(req);
        nameRequestSpan(req.method, matched.route.path);
        req.params = matched.params;
        if (!matched.route.public) authorize(req.headers, await keysOrRefuse(apiKeys, ready));
        return matched.route.handle(req);
      };
      const remaining = context?.getRemainingTimeInMillis?.();
      if (remaining === undefined) return await serve();
      // Every AWS call of the request stops in time to resolve what it left undecided and answer before the Lambda's deadline.
      const budget = budgetOf(remaining, ready.config.resolveReserveMs, ANSWER_MARGIN_MS);
      return await withBudget(budget, () => settleBy(serve(), budget.end, () => new OutOfTimeError()));
    } catch (error) {
      const response = errorResponse(error);
      if (response.statusCode >= 500) {
        (engine?.logger ?? console).error('Request failed', { method: req?.method, path: req?.path, error: loggableError(error) });
      }
      return response;
    }
  };
  // Each request is a span in the trace its traceparent names: what it enqueues, and every attempt of that, join it.
  return (event: APIGatewayProxyEventV2, context: Context): Promise<HttpResponse> => traceRequest(event, () => handle(event, context));
}

/** Time to hand the answer back to Lambda once it is decided. */
const ANSWER_MARGIN_MS = 300;

/** Every route the api serves, in the order they are matched. */
export function apiRoutes(engine: Engine, options: ApiOptions): Route[] {
  const routes: Route[] = [healthRoute];
  // Built on demand from `routes`, which is complete by then: the document lists itself too.
  const describe = async () => JSON.stringify((await import('../openapi/document')).openApiDocument(routes, registeredTasks()));
  routes.push(openApiRoute(options.openApiDocument ?? describe), ...taskRoutes(engine), ...workflowRoutes(engine), ...scheduleRoutes(engine), ...(options.routes?.(engine) ?? []));
  return routes;
}

const healthRoute: Route = {
  method: 'GET',
  path: '/health',
  public: true,
  doc: {
    operationId: 'getHealth',
    tag: 'service',
    summary: 'Liveness',
    responses: { 200: { description: 'The api answers.', schema: z.object({ status: z.literal('ok') }) } },
  },
  handle: async () => json(200, { status: 'ok' }),
};

async function keysOrRefuse(apiKeys: () => Promise<string[]>, engine: Engine): Promise<string[]> {
  try {
    return await apiKeys();
  } catch (error) {
    engine.logger.error('API keys could not be loaded', { error });
    throw new AuthNotConfiguredError();
  }
}
