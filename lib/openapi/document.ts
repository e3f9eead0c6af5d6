import type { $ZodType } from 'zod/v4/core';
import { version } from '../../package.json';
import type { Route } from '../http/router';
import type { RouteDoc } from '../http/routeDoc';
import type { TaskDefinition } from '../task';
import { ComponentSchemas } from './componentSchemas';
import { IMPLIED_RESPONSES, toOperation, toResponse } from './operation';
import type { OpenApiDocument } from './types';

const TAGS = [
  { name: 'tasks', description: 'Enqueue tasks and follow them: each one is recorded, queued, run with retries, and its outcome kept.' },
  { name: 'schedules', description: 'The recurring schedules of the task definitions: their next runs, and pausing them without a deploy.' },
  { name: 'workflows', description: 'Chains, groups with a fan-in, and steps that wait for a signal: a workflow is a task record whose steps are tasks.' },
  { name: 'application', description: 'The application\'s own routes, which enqueue tasks in the background.' },
  { name: 'service', description: 'Liveness and this document; no API key needed.' },
];

/**
 * The OpenAPI 3.1 document of `routes`, with the payload and result schemas
 * of `tasks`: built from what the routes say of themselves, so a new route or
 * task shows without a hand edit. A route without documentation is refused,
 * so none goes unlisted.
 */
export function openApiDocument(routes: readonly Route[], tasks: readonly TaskDefinition[]): OpenApiDocument {
  const schemas = new ComponentSchemas();
  // Each payload under its task's name, registered first so that every request and record refers to it.
  for (const task of tasks) schemas.payload(task.payload, `${pascal(task.name)}Payload`);
  for (const task of tasks) if (task.result) schemas.ref(task.result, 'output', `${pascal(task.name)}Result`);
  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    if (!route.doc) throw new Error(`${route.method} ${route.path} has no documentation (Route.doc)`);
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = toOperation(route as Route & { doc: RouteDoc }, schemas, tasks);
  }
  const responses = Object.fromEntries(
    Object.entries(IMPLIED_RESPONSES).map(([id, response]) => [id, toResponse(response, 400, (schema) => ({ 'application/json': { schema: schemas.ref(schema as $ZodType, 'output', id) } }))]),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'Durable background tasks',
      version,
      description:
        'Enqueue background tasks over HTTP and follow them to their outcome. Every error is JSON, {"error": {"code", "message", "details"?}}, with the status its code calls for; a method a path does not take answers 405 with Allow. Every route but /health and /openapi.json needs an API key, as x-api-key or Authorization: Bearer.',
    },
    servers: [
      { url: '/', description: 'The API that serves this document' },
      { url: 'http://localhost:3000', description: 'npm start' },
    ],
    tags: TAGS,
    security: [{ ApiKey: [] }, { Bearer: [] }],
    paths,
    components: {
      schemas: schemas.components(),
      responses,
      securitySchemes: {
        ApiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'One of the keys this deployment accepts.' },
        Bearer: { type: 'http', scheme: 'bearer', description: 'The same key, as Authorization: Bearer <key>.' },
      },
    },
  };
}

/** `send_welcome_email` → `SendWelcomeEmail`: a component name from a task name. */
function pascal(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
