import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../lib/engine';
import { testApi } from '../support/api';
import { prng } from '../support/prng';
import { createTestEngine, startLocalAws, type LocalAws } from '../support/aws';
import { apiEvent, lambdaContext } from '../support/events';

let aws: LocalAws;
let engine: Engine;
let api: ReturnType<typeof testApi>;

beforeAll(async () => {
  aws = await startLocalAws();
  engine = await createTestEngine(aws);
  api = testApi(engine);
});
afterAll(async () => aws.close());

const INJECTIONS = [
  "' OR '1'='1",
  '<script>alert(1)</script>',
  '${jndi:ldap://x}',
  '{{7*7}}',
  '../../../../etc/passwd',
  '%00',
  '\u0000\u202e',
  '__proto__',
  'constructor',
  '#status = :x',
  'a'.repeat(5000),
];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT', 'get', 'PROPFIND'];
const PATHS = [
  '/tasks',
  '/tasks/batch',
  '/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV',
  '/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV/retry',
  '/tasks/%2e%2e%2f',
  '/tasks/..',
  '/tasks//',
  '//tasks',
  '/tasks/%ZZ',
  '/tasks/\u00e9\u0000',
  '/send-notification',
  '/health/../tasks',
  '/TASKS',
  '/tasks?x=1',
  '/',
  '',
];
const CONTENT_TYPES = ['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/xml', ''];

function deep(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

function randomBody(r: () => number): string | undefined {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  switch (Math.floor(r() * 14)) {
    case 0:
      return undefined;
    case 1:
      return '{"name": "write_log", "payload": {"message": "unterminated';
    case 2:
      return JSON.stringify({ name: pick(INJECTIONS), payload: { message: pick(INJECTIONS) } });
    case 3:
      return JSON.stringify({ name: 'write_log', payload: { message: 12 } });
    case 4:
      return JSON.stringify({ name: 'write_log', payload: 'not an object', delaySeconds: -1 });
    case 5:
      return deep(5_000);
    case 6:
      return JSON.stringify({ name: 'write_log', payload: { message: 'x'.repeat(300_000) } });
    case 7:
      return JSON.stringify([1, 2, 3]);
    case 8:
      return 'null';
    case 9:
      return JSON.stringify({ __proto__: { polluted: true }, name: 'write_log', payload: { message: 'p' }, constructor: { prototype: { x: 1 } } });
    case 10:
      return JSON.stringify({ tasks: Array.from({ length: 3 }, () => ({ name: pick(INJECTIONS), payload: null })) });
    case 11:
      return JSON.stringify({ name: 'sleep', payload: { ms: 1e308 }, priority: 'urgent', maxAttempts: 1.5 });
    case 12:
      return '\u0000\u0001\u0002garbage\uffff';
    default:
      return JSON.stringify({ name: 'write_log', payload: { message: 'fine' }, delaySeconds: Math.floor(r() * 2000) - 500 });
  }
}

function randomRequest(r: () => number): APIGatewayProxyEventV2 {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const body = randomBody(r);
  const keyChoice = r();
  const headers: Record<string, string> = {};
  const contentType = pick(CONTENT_TYPES);
  if (contentType) headers['content-type'] = contentType;
  if (r() < 0.2) headers['idempotency-key'] = pick([...INJECTIONS, 'k', '']);
  const event = apiEvent(pick(METHODS), pick(PATHS), {
    body,
    headers,
    apiKey: keyChoice < 0.6 ? 'test-key' : keyChoice < 0.75 ? null : keyChoice < 0.9 ? pick(INJECTIONS) : 'test-key ',
    query:
      r() < 0.5
        ? { status: pick(['FAILED', 'nope', '', ...INJECTIONS]), limit: pick(['1', '0', '-5', '1e9', 'abc', '100']), cursor: pick(['', 'abc', '%%%', ...INJECTIONS]), email: pick(['a@b.co', ...INJECTIONS]) }
        : undefined,
  });
  if (r() < 0.1) event.isBase64Encoded = true;
  if (r() < 0.05) event.headers.authorization = `Bearer ${pick(INJECTIONS)}`;
  return event;
}

/** A valid request of a random route, with one part of it broken most of the time. */
function mutatedRequest(r: () => number): APIGatewayProxyEventV2 {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const valid: Array<() => APIGatewayProxyEventV2> = [
    () => apiEvent('POST', '/tasks', { body: { name: 'write_log', payload: { message: pick(INJECTIONS) } } }),
    () => apiEvent('POST', '/tasks/batch', { body: { tasks: [{ name: 'write_log', payload: { message: pick(INJECTIONS) } }] } }),
    () => apiEvent('GET', '/tasks', { query: { limit: '5' } }),
    () => apiEvent('GET', '/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV'),
    () => apiEvent('POST', '/send-notification', { query: { email: 'a@example.com' } }),
  ];
  const event = pick(valid)();
  const mutations: Array<() => void> = [
    () => undefined,
    () => (event.headers['x-api-key'] = pick(INJECTIONS)),
    () => delete event.headers['x-api-key'],
    () => (event.body = randomBody(r)),
    () => (event.headers['content-type'] = pick(CONTENT_TYPES) || 'text/html'),
    () => (event.requestContext.http.method = pick(METHODS)),
    () => (event.rawPath = `${event.rawPath}${pick(['/', '/x', '%00', '/..', '?'])}`),
    () => (event.queryStringParameters = { cursor: pick(INJECTIONS), status: pick(INJECTIONS), limit: pick(INJECTIONS), email: pick(INJECTIONS) }),
    () => (event.headers['idempotency-key'] = pick(INJECTIONS)),
  ];
  pick(mutations)();
  return event;
}

describe('HTTP fuzz', () => {
  it('answers 600 malformed and hostile requests with 2xx/4xx JSON, never a stack or a path, and stays healthy', async () => {
    const r = prng(20261124);
    const seen = new Map<number, number>();
    for (let i = 0; i < 600; i++) {
      const event = r() < 0.5 ? mutatedRequest(r) : randomRequest(r);
      const res = await api(event, lambdaContext());
      const label = `#${i} ${event.requestContext.http.method} ${event.rawPath}`;
      seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);

      expect(res.statusCode, label).toBeGreaterThanOrEqual(200);
      expect(res.statusCode, label).toBeLessThan(500);
      expect(res.body, label).not.toMatch(/\bat .+\(.*:\d+:\d+\)|node_modules|\/work\/|\.ts:\d+|Error:/);
      if (res.statusCode >= 400) {
        const parsed = JSON.parse(res.body) as { error: { code: string; message: string } };
        expect(typeof parsed.error.code, label).toBe('string');
        expect(typeof parsed.error.message, label).toBe('string');
        expect(res.headers['content-type'], label).toMatch(/^application\/json/);
      }
    }
    // The mix reached the interesting answers, not just one of them.
    for (const status of [202, 400, 401, 404, 405, 413, 415]) expect(seen.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const health = await api(apiEvent('GET', '/health', { apiKey: null }), lambdaContext());
    expect(health.statusCode).toBe(200);
    const ok = await api(apiEvent('POST', '/tasks', { body: { name: 'write_log', payload: { message: 'after fuzz' } } }), lambdaContext());
    expect(ok.statusCode).toBe(202);
  });
});
