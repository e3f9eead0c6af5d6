import type { Engine } from '../../lib/engine';
import { createApiHandler } from '../../lib/http/api';
import type { HttpResponse } from '../../lib/http/response';
import '../../lib/tasks';
import { exampleRoutes } from '../../lib/tasks/routes';
import { apiEvent, lambdaContext, type ApiEventInit } from './events';

export const TEST_KEY = 'test-key';

/** The api Lambda as functions/api.ts builds it (task API and the seed's route), on `engine`, accepting `keys`. */
export function testApi(engine: Engine, keys: string[] = [TEST_KEY]) {
  return createApiHandler({ engine, apiKeys: async () => keys, routes: exampleRoutes });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each route answers its own shape
export type Json = Record<string, any>;

/** Calls `api` with an API Gateway event; the body comes back parsed. */
export async function call(api: ReturnType<typeof testApi>, method: string, path: string, init: ApiEventInit = {}): Promise<{ status: number; headers: Record<string, string>; body: Json | undefined; raw: HttpResponse }> {
  const res = await api(apiEvent(method, path, init), lambdaContext());
  return { status: res.statusCode, headers: res.headers, body: res.body ? (JSON.parse(res.body) as Json) : undefined, raw: res };
}
