import { MethodNotAllowedError, RouteNotFoundError } from './errors';
import type { ApiRequest } from './request';
import type { HttpResponse } from './response';
import type { RouteDoc } from './routeDoc';

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  /** A path with `{name}` segments, e.g. `/tasks/{id}/retry`. */
  path: string;
  /** Reachable without an API key. */
  public?: boolean;
  /** What the OpenAPI document says of the route. */
  doc?: RouteDoc;
  handle: (req: ApiRequest) => Promise<HttpResponse>;
}

interface CompiledRoute extends Route {
  segments: string[];
}

/**
 * Finds the route for a request: 404 when no path matches, 405 with Allow when
 * only the method is wrong. HEAD runs a GET route and answers without its body.
 */
export function createRouter(routes: Route[]) {
  const compiled: CompiledRoute[] = routes.map((r) => ({ ...r, segments: r.path.split('/').slice(1) }));
  return (req: ApiRequest): { route: Route; params: Record<string, string> } => {
    const parts = req.path.split('/').slice(1);
    const allowed: string[] = [];
    for (const route of compiled) {
      const params = match(route.segments, parts);
      if (!params) continue;
      if (route.method === req.method) return { route, params };
      if (req.method === 'HEAD' && route.method === 'GET') return { route: { ...route, handle: async (r) => ({ ...(await route.handle(r)), body: '' }) }, params };
      allowed.push(route.method);
    }
    if (allowed.length > 0) throw new MethodNotAllowedError(req.method.slice(0, 16), allowed);
    throw new RouteNotFoundError(req.method.slice(0, 16), req.path.slice(0, 200));
  };
}

function match(pattern: string[], parts: string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const part = parts[i]!;
    if (p.startsWith('{') && p.endsWith('}')) {
      try {
        params[p.slice(1, -1)] = decodeURIComponent(part);
      } catch {
        return undefined;
      }
    } else if (p !== part) {
      return undefined;
    }
  }
  return params;
}
