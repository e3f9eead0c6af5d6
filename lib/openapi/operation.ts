import type { $ZodType } from 'zod/v4/core';
import type { Route } from '../http/router';
import type { DocSchema, ParameterDoc, ResponseDoc, RouteDoc } from '../http/routeDoc';
import { ErrorResponse } from '../http/schemas';
import type { TaskDefinition } from '../task';
import * as z from '../zod';
import { inlineSchema, type ComponentSchemas, type Io } from './componentSchemas';
import type { OperationObject, ParameterObject, ResponseObject } from './types';

const RETRY_AFTER = { 'Retry-After': 'Seconds to wait before trying again.' };

/**
 * What every route of a kind answers unless its own documentation says more:
 * written once, in components.responses, and referred to from each operation.
 */
const IMPLIED: Record<'protected' | 'body' | 'all', Record<number, string>> = {
  protected: { 401: 'Unauthorized', 503: 'NotConfigured' },
  body: { 400: 'InvalidBody', 413: 'BodyTooLarge', 415: 'NotJson' },
  all: { 500: 'InternalError' },
};

/** The responses the operations refer to, by name. */
export const IMPLIED_RESPONSES: Record<string, ResponseDoc> = {
  Unauthorized: { description: 'No API key, or one this API does not accept (`unauthorized`).', headers: { 'WWW-Authenticate': 'Bearer' } },
  NotConfigured: { description: 'No API key is configured for this deployment (`auth_not_configured`).', headers: RETRY_AFTER },
  InvalidBody: { description: 'The body is not valid JSON, or its schema refuses it (`validation_error`, with the issues in details).' },
  BodyTooLarge: { description: 'The body is too large (`payload_too_large`).' },
  NotJson: { description: 'The body is not JSON (`unsupported_media_type`).' },
  InternalError: { description: 'An unexpected error (`internal_error`); the answer says nothing of its cause.' },
};

/** One route as an OpenAPI operation; its schemas go to `schemas` as components. */
export function toOperation(route: Route & { doc: RouteDoc }, schemas: ComponentSchemas, tasks: readonly TaskDefinition[]): OperationObject {
  const { doc } = route;
  const name = doc.operationId.charAt(0).toUpperCase() + doc.operationId.slice(1);
  const resolve = (schema: DocSchema): $ZodType => (typeof schema === 'function' ? schema(tasks) : schema);
  const parameters = [
    ...parametersOf('path', doc.params, schemas),
    ...parametersOf('query', doc.query ? shapeOf(doc.query) : undefined, schemas),
    ...parametersOf('header', doc.headers, schemas),
  ];
  const implied: Record<number, string> = { ...(route.public ? {} : IMPLIED.protected), ...(doc.body ? IMPLIED.body : {}), ...IMPLIED.all };
  const body = (schema: DocSchema | undefined, io: Io, id: string) => (schema ? { 'application/json': { schema: schemas.ref(resolve(schema), io, id) } } : undefined);
  return {
    operationId: doc.operationId,
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    tags: [doc.tag],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(doc.body ? { requestBody: { required: true, content: body(doc.body, 'input', `${name}Request`)! } } : {}),
    responses: Object.fromEntries(
      [...new Set([...Object.keys(implied), ...Object.keys(doc.responses)])]
        .sort()
        .map((status): [string, ResponseObject | { $ref: string }] => {
          const own = doc.responses[Number(status)];
          if (!own) return [status, { $ref: `#/components/responses/${implied[Number(status)]}` }];
          return [status, toResponse(own, Number(status), (schema) => body(schema, 'output', `${name}${Number(status) < 300 ? '' : status}Response`))];
        }),
    ),
    ...(route.public ? { security: [] } : {}),
  };
}

/** A response object: its description, its headers, and its JSON body (the error shape for an error status without one). */
export function toResponse(response: ResponseDoc, status: number, content: (schema: DocSchema) => ResponseObject['content']): ResponseObject {
  const schema = response.schema ?? (status >= 400 ? ErrorResponse : undefined);
  return {
    description: response.description,
    ...(response.headers ? { headers: Object.fromEntries(Object.entries(response.headers).map(([h, description]) => [h, { description, schema: { type: 'string' } }])) } : {}),
    ...(schema ? { content: content(schema) } : {}),
  };
}

function parametersOf(where: ParameterObject['in'], params: Record<string, ParameterDoc> | undefined, schemas: ComponentSchemas): ParameterObject[] {
  return Object.entries(params ?? {}).map(([name, { description, schema }]) => ({
    name,
    in: where,
    ...(description ? { description } : {}),
    // A path parameter is always required; the others when their schema does not accept their absence.
    required: where === 'path' || !(schema as { _zod: { optin?: string } })._zod.optin,
    schema: z.globalRegistry.get(schema)?.id ? schemas.ref(schema, 'output', '') : inlineSchema(schema),
  }));
}

/** A query schema's properties, as parameters; each one's description comes from zod's registry. */
function shapeOf(query: $ZodType): Record<string, ParameterDoc> {
  const shape = (query as unknown as { _zod: { def: { shape?: Record<string, $ZodType> } } })._zod.def.shape;
  if (!shape) throw new TypeError('A route\'s query must be documented with an object schema');
  return Object.fromEntries(Object.entries(shape).map(([name, schema]) => [name, { description: z.globalRegistry.get(schema)?.description ?? '', schema }]));
}
