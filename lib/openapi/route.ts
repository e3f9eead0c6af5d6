import type { HttpResponse } from '../http/response';
import type { Route } from '../http/router';
import * as z from '../zod';

export const OPENAPI_PATH = '/openapi.json';

const Document = z.looseObject({ openapi: z.string(), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) });

/**
 * `GET /openapi.json`, without a key: the document holds no data. `document`
 * is the document's JSON text, built ahead (the Lambda bundles carry it), or
 * a function that builds it on the first request and keeps it.
 */
export function openApiRoute(document: string | (() => Promise<string>)): Route {
  let text: Promise<string> | undefined;
  return {
    method: 'GET',
    path: OPENAPI_PATH,
    public: true,
    doc: {
      operationId: 'getOpenApiDocument',
      tag: 'service',
      summary: 'This document',
      responses: { 200: { description: 'The OpenAPI 3.1 document of this API.', schema: Document } },
    },
    handle: async (): Promise<HttpResponse> => {
      text ??= typeof document === 'string' ? Promise.resolve(document) : document().catch((error: unknown) => {
        text = undefined; // the next request tries again
        throw error;
      });
      return { statusCode: 200, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' }, body: await text };
    },
  };
}
