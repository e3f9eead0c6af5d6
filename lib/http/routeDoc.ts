import type { $ZodType } from 'zod/v4/core';
import type { TaskDefinition } from '../task';

/**
 * A schema in a route's documentation: a zod schema, or one made from the
 * registered tasks when the document is built (POST /tasks takes one branch
 * per task), so that a new task shows without a hand edit.
 */
export type DocSchema = $ZodType | TaskSchemaBuilder;

/** Makes a schema from the registered tasks; the same list of tasks gives the same schema object. */
export type TaskSchemaBuilder = (tasks: readonly TaskDefinition[]) => $ZodType;

export interface ResponseDoc {
  description: string;
  /** The JSON body. An error status without one answers the API's error shape, `{error: {code, message, details?}}`. */
  schema?: DocSchema;
  /** Headers a client may read, by name: what each says. */
  headers?: Record<string, string>;
}

/** A parameter of the path or the query, or a request header. */
export interface ParameterDoc {
  description: string;
  schema: $ZodType;
}

/**
 * What a route says of itself in the OpenAPI document (lib/openapi): every
 * route carries its own, so the document grows with the routes. The document
 * adds what follows from the route's shape: 401 and 503 for a route behind
 * the API key, 400, 413 and 415 for one with a JSON body, 500 for all.
 */
export interface RouteDoc {
  /** Unique across the API; generated clients name their methods after it. */
  operationId: string;
  summary: string;
  description?: string;
  /** The group the route is listed under. */
  tag: string;
  /** The `{name}` segments of the path, by name. */
  params?: Record<string, ParameterDoc>;
  /** The query, as an object schema: each property a parameter. */
  query?: $ZodType;
  /** Request headers the route reads, by name. */
  headers?: Record<string, ParameterDoc>;
  /** The JSON request body. */
  body?: DocSchema;
  /** What the route answers, by status. */
  responses: Record<number, ResponseDoc>;
}
