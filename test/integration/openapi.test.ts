import { Validator } from '@seriousme/openapi-schema-validator';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import openapi from '../../lib/build/openapiDocument.cjs';
import type { Engine } from '../../lib/engine';
import { apiRoutes, createApiHandler } from '../../lib/http/api';
import { json } from '../../lib/http/response';
import { openApiDocument } from '../../lib/openapi/document';
import type { OpenApiDocument } from '../../lib/openapi/types';
import { defineTask, registeredTasks } from '../../lib/task';
import { exampleRoutes } from '../../lib/tasks/routes';
import { call, testApi } from '../support/api';
import { createTestEngine, startLocalAws, type LocalAws } from '../support/aws';

/**
 * The OpenAPI document: valid OpenAPI 3.1, the same whether built with the
 * bundle, served by the handler or committed, growing with the tasks and the
 * routes, and true: every answer a test can provoke from the api (on real
 * dynalite and local-aws-sqs, with faults injected for the 503s) has a status
 * the document lists for its route and a body that matches the schema there.
 */
let aws: LocalAws;
let engine: Engine;
const built = openapi.buildOpenApiDocument();

beforeAll(async () => {
  aws = await startLocalAws();
  engine = await createTestEngine(aws);
});
afterAll(async () => aws.close());

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1, as a real validator reads it; the validator refuses a broken one', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(built) as unknown as Record<string, unknown>);
    expect(result).toEqual({ valid: true });
    expect(validator.version).toBe('3.1');

    const broken = structuredClone(built) as unknown as { paths: Record<string, Record<string, { responses: unknown }>> };
    broken.paths['/tasks']!.post!.responses = 'none';
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it('is committed as openapi.json (npm run openapi writes it)', () => {
    const committed = JSON.parse(readFileSync(join(__dirname, '../../openapi.json'), 'utf8')) as OpenApiDocument;
    expect(committed, 'openapi.json is stale: run npm run openapi').toEqual(built);
  });

  it('is what GET /openapi.json answers, without a key, when the handler builds it itself', async () => {
    const res = await call(testApi(engine), 'GET', '/openapi.json', { apiKey: null });

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.body).toEqual(built);
  });

  it('is served as given when the build hands it over', async () => {
    const api = testApi(engine);
    const handler = createApiHandler({ engine, apiKeys: async () => ['k'], openApiDocument: '{"openapi":"3.1.0"}' });

    expect((await call(handler, 'GET', '/openapi.json', { apiKey: null })).body).toEqual({ openapi: '3.1.0' });
    expect((await call(api, 'GET', '/openapi.json', { apiKey: null })).body).not.toEqual({ openapi: '3.1.0' });
  });

  it('enqueues by a oneOf on name, one branch per task with its payload, and shows each declared result', () => {
    const { EnqueueRequest, Task } = built.components.schemas as Record<string, { oneOf: Array<{ properties: Record<string, unknown> }>; discriminator: unknown }>;

    expect([EnqueueRequest!.discriminator, Task!.discriminator]).toEqual([{ propertyName: 'name' }, { propertyName: 'name' }]);

    expect(EnqueueRequest!.oneOf.map((b) => b.properties.name)).toEqual(['write_log', 'sleep', 'limited_sleep', 'throttled_log', 'fail', 'flaky', 'checksum', 'daily_report', 'double', 'sum'].map((name) => ({ type: 'string', const: name })));
    expect(EnqueueRequest!.oneOf[0]!.properties.payload).toEqual({ $ref: '#/components/schemas/WriteLogPayload' });
    expect(built.components.schemas.WriteLogPayload).toEqual({
      type: 'object',
      properties: { message: { type: 'string', minLength: 1, maxLength: 10_000 } },
      required: ['message'],
    });
    expect(Task!.oneOf[0]!.properties.result).toEqual({
      anyOf: [{ $ref: '#/components/schemas/WriteLogResult' }, { $ref: '#/components/schemas/TruncatedResult' }, { type: 'null' }],
    });
    // `fail` declares no result: any JSON.
    expect(Task!.oneOf.find((b) => (b.properties.name as { const: string }).const === 'fail')!.properties.result).toEqual({});
  });

  it('grows with a new task and a new route, with no hand edit', () => {
    defineTask({ name: 'send_welcome_email', payload: z.object({ to: z.email() }), result: z.object({ messageId: z.string() }), run: () => ({ messageId: 'm' }) });
    const extra = () => [
      ...exampleRoutes(engine),
      { method: 'GET' as const, path: '/hello', doc: { operationId: 'hello', tag: 'application', summary: 'Hello', responses: { 200: { description: 'Hi' } } }, handle: async () => json(200, {}) },
    ];

    const grown = openApiDocument(apiRoutes(engine, { routes: extra }), registeredTasks());

    expect(grown.paths['/hello']!.get).toMatchObject({ operationId: 'hello', responses: { 401: {}, 503: {}, 500: {} } });
    expect(grown.paths['/hello']!.get).not.toHaveProperty('security'); // the document's default: the API key
    expect(JSON.stringify(grown.components.schemas.EnqueueRequest)).toContain('"const":"send_welcome_email"');
    expect(grown.components.schemas.SendWelcomeEmailResult).toMatchObject({ properties: { messageId: { type: 'string' } } });
  });

  it('refuses a route that says nothing of itself, so none goes unlisted', () => {
    const bare = { method: 'GET' as const, path: '/secret', handle: async () => json(200, {}) };

    expect(() => openApiDocument([...apiRoutes(engine, {}), bare], registeredTasks())).toThrow('GET /secret has no documentation (Route.doc)');
  });
});
