import type { Engine } from '../engine';
import { apiRoutes, type ApiOptions } from '../http/api';
import { registeredTasks } from '../task';
import { openApiDocument } from './document';
import type { OpenApiDocument } from './types';

/**
 * The routes are made only to read what they say of themselves: their
 * handlers never run, so the engine they are given refuses any use, loudly.
 */
const documentationOnly = new Proxy({} as Engine, {
  get(_target, key) {
    throw new Error(`The OpenAPI build made the routes without an engine, and one read engine.${String(key)} while being made`);
  },
});

/** The document of the api `options` configure (functions/api.ts exports its own), with the tasks registered so far. */
export function apiDocument(options: ApiOptions): OpenApiDocument {
  return openApiDocument(apiRoutes(documentationOnly, options), registeredTasks());
}
