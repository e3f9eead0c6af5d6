import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import * as z from '../zod';
import { withBackgroundTasks } from '../background';
import { getDefaultEngine, type Engine } from '../engine';
import { AuthNotConfiguredError, ValidationError } from '../errors';
import { writeLog } from '../tasks/examples';
import { loadApiKeys } from './apiKeys';
import { authorize } from './auth';
import { toApiRequest, type ApiRequest } from './request';
import { errorResponse, json, type HttpResponse } from './response';
import { createRouter, type Route } from './router';
import { statusUrl, taskRoutes } from './taskRoutes';

export interface ApiOptions {
  engine?: Engine;
  /** Where the accepted keys come from; read on every request (the SSM source caches). */
  apiKeys?: () => Promise<string[]>;
}

const EmailQuery = z.object({ email: z.pipe(z.string().check(z.trim()), z.email().check(z.maxLength(254))) });

/** Builds the api Lambda: one function for every route of the task API, errors mapped in one place. */
export function createApiHandler(options: ApiOptions = {}) {
  let engine: Engine | undefined = options.engine;
  let route: ReturnType<typeof createRouter> | undefined;
  const apiKeys = options.apiKeys ?? (() => loadApiKeys());

  return async (event: APIGatewayProxyEventV2, context: Context): Promise<HttpResponse> => {
    let req: ApiRequest | undefined;
    try {
      engine ??= getDefaultEngine();
      route ??= createRouter([...baseRoutes(engine), ...taskRoutes(engine)]);
      req = toApiRequest(event, context);
      const matched = route(req);
      req.params = matched.params;
      if (!matched.route.public) authorize(req.headers, await keysOrRefuse(apiKeys, engine));
      return await matched.route.handle(req);
    } catch (error) {
      const response = errorResponse(error);
      if (response.statusCode >= 500) {
        (engine?.logger ?? console).error('Request failed', { method: req?.method, path: req?.path, error });
      }
      return response;
    }
  };
}

async function keysOrRefuse(apiKeys: () => Promise<string[]>, engine: Engine): Promise<string[]> {
  try {
    return await apiKeys();
  } catch (error) {
    engine.logger.error('API keys could not be loaded', { error });
    throw new AuthNotConfiguredError();
  }
}

/** Health and the seed's example, written with withBackgroundTasks as an application would write its endpoints. */
function baseRoutes(engine: Engine): Route[] {
  const sendNotification = withBackgroundTasks(
    async (req: ApiRequest, _ctx, backgroundTasks) => {
      const parsed = EmailQuery.safeParse(req.query);
      if (!parsed.success) throw new ValidationError('Query parameter "email" must be an email address');
      const { taskId } = backgroundTasks.add(writeLog, { message: `Notification sent to ${parsed.data.email}` });
      return json(202, { message: 'Notification sent in the background', taskId }, { location: statusUrl(taskId) });
    },
    { engine: () => engine },
  );
  return [
    { method: 'GET', path: '/health', public: true, handle: async () => json(200, { status: 'ok' }) },
    {
      method: 'POST',
      path: '/send-notification',
      handle: async (req) => (await sendNotification(req, req.lambdaContext)) as HttpResponse,
    },
  ];
}
