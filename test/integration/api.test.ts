import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../lib/engine';
import { call as callApi, testApi } from '../support/api';
import { createTestEngine, startLocalAws, type LocalAws } from '../support/aws';
import { runUntilTerminal } from '../support/drive';
import { apiEvent, lambdaContext, type ApiEventInit } from '../support/events';
import { expectErrorLogs } from '../support/logs';

// Its tasks fail on purpose, and its 503 tests refuse DynamoDB or SQS.
expectErrorLogs(
  'Request failed',
  'Task failed',
);

let aws: LocalAws;
let engine: Engine;
let api: ReturnType<typeof testApi>;

beforeAll(async () => {
  aws = await startLocalAws();
  engine = await createTestEngine(aws);
  api = testApi(engine, ['test-key', 'second-key']);
});
afterAll(async () => aws.close());

const call = (method: string, path: string, init: ApiEventInit = {}) => callApi(api, method, path, init);

describe('POST /tasks', () => {
  it('accepts a task with 202, a Location and the task id, and records it PENDING', async () => {
    const res = await call('POST', '/tasks', { body: { name: 'write_log', payload: { message: 'hi' } } });

    expect(res.status).toBe(202);
    expect(res.body).toEqual({ taskId: expect.stringMatching(/^[0-9A-Z]{26}$/), status: 'PENDING', statusUrl: `/tasks/${res.body!.taskId}` });
    expect(res.headers.location).toBe(`/tasks/${res.body!.taskId}`);
    const stored = await call('GET', `/tasks/${res.body!.taskId}`);
    expect(stored.body).toMatchObject({ name: 'write_log', status: 'PENDING', payload: { message: 'hi' }, attempts: 0, maxAttempts: 3 });
  });

  it.each([
    ['bad JSON', '{"name": ', 'validation_error'],
    ['an unknown task', { name: 'nope', payload: {} }, 'unknown_task'],
    ['a payload that fails the schema', { name: 'write_log', payload: { message: 42 } }, 'validation_error'],
    ['an unknown field', { name: 'write_log', payload: { message: 'x' }, color: 'red' }, 'validation_error'],
    ['a delay over a year', { name: 'write_log', payload: { message: 'x' }, delaySeconds: 31_536_001 }, 'validation_error'],
    ['a runAt over a year ahead', { name: 'write_log', payload: { message: 'x' }, runAt: '2999-01-01T00:00:00Z' }, 'validation_error'],
    ['a runAt that is not RFC 3339', { name: 'write_log', payload: { message: 'x' }, runAt: 'tomorrow' }, 'validation_error'],
    ['both runAt and delaySeconds', { name: 'write_log', payload: { message: 'x' }, runAt: '2020-01-01T00:00:00Z', delaySeconds: 5 }, 'validation_error'],
    ['an empty body', '', 'validation_error'],
  ])('answers 400 with a JSON error for %s', async (_label, body, code) => {
    const res = await call('POST', '/tasks', { body });

    expect(res.status).toBe(400);
    expect(res.body!.error.code).toBe(code);
    expect(typeof res.body!.error.message).toBe('string');
  });

  it('answers 413 for a payload over 256 KB (without a bucket: its limit in the table)', async () => {
    const res = await call('POST', '/tasks', { body: { name: 'write_log', payload: { message: 'x'.repeat(257 * 1024) } } });

    expect(res.status).toBe(413);
    expect(res.body!.error.code).toBe('payload_too_large');
  });

  it('answers 415 for a body that is not JSON', async () => {
    const res = await call('POST', '/tasks', { body: 'name=write_log', headers: { 'content-type': 'application/x-www-form-urlencoded' } });

    expect(res.status).toBe(415);
  });

  it('returns the same task for the same Idempotency-Key and body, and 409 for another body', async () => {
    const body = { name: 'write_log', payload: { message: 'once' } };
    const headers = { 'idempotency-key': 'order-42' };

    const first = await call('POST', '/tasks', { body, headers });
    const second = await call('POST', '/tasks', { body, headers });
    const conflict = await call('POST', '/tasks', { body: { ...body, payload: { message: 'other' } }, headers });

    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body!.taskId).toBe(first.body!.taskId);
    expect(conflict.status).toBe(409);
    expect(conflict.body!.error.code).toBe('idempotency_key_reused');
  });
});

describe('auth', () => {
  const protectedRoutes: Array<[string, string]> = [
    ['POST', '/tasks'],
    ['POST', '/tasks/batch'],
    ['GET', '/tasks'],
    ['GET', '/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV'],
    ['DELETE', '/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV'],
    ['POST', '/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV/retry'],
    ['POST', '/send-notification'],
  ];

  it.each(protectedRoutes)('refuses %s %s without a key or with a wrong one', async (method, path) => {
    const missing = await call(method, path, { apiKey: null });
    const wrong = await call(method, path, { apiKey: 'test-keyX' });

    expect(missing.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(missing.body!.error.code).toBe('unauthorized');
  });

  it('accepts any configured key, in x-api-key or as a Bearer token', async () => {
    const viaHeader = await call('GET', '/tasks', { apiKey: 'second-key' });
    const viaBearer = await call('GET', '/tasks', { apiKey: null, headers: { authorization: 'Bearer test-key' } });

    expect(viaHeader.status).toBe(200);
    expect(viaBearer.status).toBe(200);
  });

  it('serves /health without a key, and HEAD on it with the same status and no body', async () => {
    expect(await call('GET', '/health', { apiKey: null })).toMatchObject({ status: 200, body: { status: 'ok' } });
    const head = await api(apiEvent('HEAD', '/health', { apiKey: null }), lambdaContext());
    expect(head).toMatchObject({ statusCode: 200, body: '' });
    expect(head.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('refuses every protected route with 503 when no key is configured', async () => {
    const unconfigured = testApi(engine, []);
    const res = await unconfigured(apiEvent('GET', '/tasks'), lambdaContext());

    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body).error.code).toBe('auth_not_configured');
  });
});

describe('task lifecycle routes', () => {
  it('answers 404 for an unknown id, and for something that is not an id', async () => {
    expect((await call('GET', '/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV')).status).toBe(404);
    expect((await call('GET', '/tasks/..%2F..%2Fetc%2Fpasswd')).status).toBe(404);
  });

  it('answers 404 JSON for an unknown route and 405 for a wrong method', async () => {
    const unknown = await call('GET', '/nope');
    const wrongMethod = await call('PUT', '/tasks');

    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe('POST, GET');
  });

  it('cancels a PENDING task, then answers 409 to a second cancel', async () => {
    const { body } = await call('POST', '/tasks', { body: { name: 'write_log', payload: { message: 'never' } } });

    const cancelled = await call('DELETE', `/tasks/${body!.taskId}`);
    const again = await call('DELETE', `/tasks/${body!.taskId}`);

    expect(cancelled).toMatchObject({ status: 200, body: { status: 'CANCELLED' } });
    expect(again.status).toBe(409);
    expect(again.body!.error.code).toBe('invalid_state');
    // The worker skips the cancelled task's message.
    const [record] = await runUntilTerminal(engine, aws, [body!.taskId]);
    expect(record).toMatchObject({ status: 'CANCELLED', attempts: 0 });
  });

  it('runs a FAILED task again through POST /tasks/{id}/retry', async () => {
    const { body } = await call('POST', '/tasks', { body: { name: 'fail', payload: { message: 'nope' }, maxAttempts: 1 } });
    await runUntilTerminal(engine, aws, [body!.taskId]);
    expect((await call('GET', `/tasks/${body!.taskId}`)).body).toMatchObject({ status: 'FAILED', attempts: 1 });

    const retried = await call('POST', `/tasks/${body!.taskId}/retry`);
    const [record] = await runUntilTerminal(engine, aws, [body!.taskId]);

    expect(retried).toMatchObject({ status: 202, body: { taskId: body!.taskId, status: 'PENDING' } });
    expect(record).toMatchObject({ status: 'FAILED', attempts: 1, error: { message: 'nope' } });
    expect(record!.attemptLog).toHaveLength(2);
  });

  it('answers 409 to a retry of a task that has not failed', async () => {
    const { body } = await call('POST', '/tasks', { body: { name: 'write_log', payload: { message: 'fine' } } });

    expect((await call('POST', `/tasks/${body!.taskId}/retry`)).status).toBe(409);
  });
});

describe('GET /tasks', () => {
  it('lists newest first across shards, filters by status and name, and pages with an opaque cursor', async () => {
    const local = await createTestEngine(aws);
    const listApi = testApi(local);
    const list = async (query: Record<string, string>) =>
      JSON.parse((await listApi(apiEvent('GET', '/tasks', { query }), lambdaContext())).body) as { items: Array<{ taskId: string; name: string }>; nextCursor: string | null };
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await listApi(apiEvent('POST', '/tasks', { body: { name: i % 2 ? 'sleep' : 'write_log', payload: i % 2 ? { ms: 1 } : { message: `m${i}` } } }), lambdaContext());
      ids.push(JSON.parse(res.body).taskId);
    }

    const first = await list({ limit: '3' });
    const second = await list({ limit: '3', cursor: first.nextCursor! });
    const third = await list({ limit: '3', cursor: second.nextCursor! });
    const sleeps = await list({ name: 'sleep', status: 'PENDING' });

    expect([...first.items, ...second.items, ...third.items].map((t) => t.taskId)).toEqual([...ids].reverse());
    expect(third.nextCursor).toBeNull();
    expect(sleeps.items.map((t) => t.taskId)).toEqual([ids[5], ids[3], ids[1]]);
    expect((await list({ status: 'FAILED' })).items).toEqual([]);
  });

  it('answers 400 for a bad cursor, status or limit', async () => {
    for (const query of <Array<Record<string, string>>>[{ cursor: 'garbage!' }, { cursor: Buffer.from('v1:nope').toString('base64url') }, { status: 'DONE' }, { limit: '0' }, { limit: '101' }]) {
      const res = await call('GET', '/tasks', { query });
      expect(res.status, JSON.stringify(query)).toBe(400);
    }
  });
});

describe('POST /tasks/batch', () => {
  it('enqueues valid items and reports each invalid one, by index', async () => {
    const tasks = [
      ...Array.from({ length: 12 }, (_, i) => ({ name: 'write_log', payload: { message: `b${i}` } })),
      { name: 'nope', payload: {} },
      { name: 'write_log', payload: {} },
    ];

    const res = await call('POST', '/tasks/batch', { body: { tasks } });

    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ accepted: 12, rejected: 2 });
    expect(res.body!.items[12]).toMatchObject({ index: 12, ok: false, httpStatus: 400, error: { code: 'unknown_task' } });
    expect(res.body!.items[13]).toMatchObject({ index: 13, ok: false, httpStatus: 400, error: { code: 'validation_error' } });
    const ids = (res.body!.items as Array<{ ok: boolean; taskId: string }>).filter((i) => i.ok).map((i) => i.taskId);
    const records = await runUntilTerminal(engine, aws, ids);
    expect(records.map((r) => r.status)).toEqual(Array(12).fill('SUCCEEDED'));
  });

  it('answers 400 for more than 100 tasks or none', async () => {
    const many = Array.from({ length: 101 }, () => ({ name: 'write_log', payload: { message: 'x' } }));
    expect((await call('POST', '/tasks/batch', { body: { tasks: many } })).status).toBe(400);
    expect((await call('POST', '/tasks/batch', { body: { tasks: [] } })).status).toBe(400);
  });
});

describe('POST /send-notification', () => {
  it('answers 202 at once and the notification is logged in the background', async () => {
    const res = await call('POST', '/send-notification', { query: { email: 'a@example.com' } });

    expect(res.status).toBe(202);
    expect(res.body).toEqual({ message: 'Notification sent in the background', taskId: expect.any(String) });
    const [record] = await runUntilTerminal(engine, aws, [res.body!.taskId]);
    expect(record).toMatchObject({ name: 'write_log', status: 'SUCCEEDED', result: { message: 'Notification sent to a@example.com' } });
  });

  it.each([[{}], [{ email: 'not-an-email' }]])('answers 400 for %j', async (query) => {
    const res = await call('POST', '/send-notification', { query: query as Record<string, string> });

    expect(res.status).toBe(400);
    expect(res.body!.error.code).toBe('validation_error');
  });
});

